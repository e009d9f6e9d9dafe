import { RelengdError } from '../../errors.ts';

/** AMQP reply codes (AMQP 0-9-1 §1.9) that no amount of retrying fixes. */
const PERMANENT_CODES = new Set([
  403, // access-refused: credentials or permissions
  406, // precondition-failed: e.g. the queue exists with other arguments
  530, // not-allowed: e.g. unknown vhost
]);

/**
 * The broker refused or lost something. `code` is the AMQP reply code when the broker gave one;
 * `retriable` is false for codes a retry cannot fix (403, 406, 530) and for local setup mistakes
 * (an unreadable TLS file).
 */
export class AmqpError extends RelengdError {
  readonly code: number | undefined;
  constructor(message: string, options: { code?: number | undefined; retriable?: boolean; cause?: unknown } = {}) {
    super(message, { retriable: options.retriable ?? (options.code === undefined || !PERMANENT_CODES.has(options.code)), cause: options.cause });
    this.code = options.code;
  }

  /** Wraps whatever amqplib or the socket threw, keeping the reply code amqplib attaches. */
  static from(error: unknown, doing: string): AmqpError {
    if (error instanceof AmqpError) return error;
    const code = codeOf(error);
    const detail = error instanceof Error ? error.message : String(error);
    return new AmqpError(`${doing}: ${detail}`, { code, cause: error });
  }
}

/** The broker did not take a published message: nacked, returned as unroutable, or never confirmed. */
export class PublishFailedError extends RelengdError {
  readonly routingKey: string;
  readonly messageId: string | undefined;
  constructor(routingKey: string, messageId: string | undefined, why: string, options: { cause?: unknown } = {}) {
    super(`publish of ${messageId ?? '(no id)'} to ${routingKey} failed: ${why}`, { retriable: true, cause: options.cause });
    this.routingKey = routingKey;
    this.messageId = messageId;
  }
}

/** The AMQP reply code amqplib puts on errors (`code`), or from a "… 403 (ACCESS-REFUSED) …" message. */
function codeOf(error: unknown): number | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof (error as { code: unknown }).code === 'number') {
    return (error as { code: number }).code;
  }
  const match = error instanceof Error ? /\b(\d{3}) \([A-Z-]+\)/.exec(error.message) : null;
  return match ? Number(match[1]) : undefined;
}
