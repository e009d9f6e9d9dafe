import { RelengdError } from '../../errors.ts';

/** The cluster refused or lost something while starting or consuming (retriable unless said otherwise). */
export class KafkaTransportError extends RelengdError {
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { retriable: options.retriable ?? true, cause: options.cause });
  }
}

/** The cluster did not acknowledge a published record (after kafkajs's retries); the outbox retries it. */
export class KafkaPublishError extends RelengdError {
  readonly topic: string;
  readonly messageId: string | undefined;
  constructor(topic: string, messageId: string | undefined, why: string, options: { cause?: unknown } = {}) {
    super(`publish of ${messageId ?? '(no id)'} to ${topic} failed: ${why}`, { retriable: true, cause: options.cause });
    this.topic = topic;
    this.messageId = messageId;
  }
}
