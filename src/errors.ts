import { notInstalledMessage } from './system-tools.ts';

/**
 * Typed errors. Code branches on the class or its fields, never on message text.
 * `retriable` tells the retry helper and the job runner whether trying again can help.
 */
export class RelengdError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Why a message could not become an event. Stored with the raw bytes in the rejected table. */
export const RejectReason = {
  notJson: 'not-json',
  /** A content type or encoding that is not JSON in UTF-8. */
  mediaType: 'media-type',
  notCloudEvent: 'not-cloudevent',
  unknownTopic: 'unknown-topic',
  schema: 'schema',
  tooLarge: 'too-large',
  unauthorized: 'unauthorized',
  poison: 'poison',
  /** The id is of the form relengd derives for its own events: an inbound message may not take it. */
  reservedId: 'reserved-id',
  /** Processing this one message failed in a way its neighbours did not (kept with the error). */
  unprocessable: 'unprocessable',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** A message that cannot be accepted. Never retriable: the same bytes fail the same way. */
export class MessageRejectedError extends RelengdError {
  readonly reason: RejectReason;
  /** Dotted path of the offending field (`body.success`), when one field is to blame. */
  readonly field: string | undefined;
  constructor(reason: RejectReason, message: string, field?: string) {
    super(message);
    this.reason = reason;
    this.field = field;
  }
}

/** The configuration file is invalid; `keyPath` names the key (`streams[0].ostree.ref`). */
export class ConfigError extends RelengdError {
  readonly keyPath: string;
  constructor(keyPath: string, message: string, options: { cause?: unknown } = {}) {
    super(keyPath ? `${keyPath}: ${message}` : message, options);
    this.keyPath = keyPath;
  }
}

/** Wrong command-line use (exit code 2). */
export class UsageError extends RelengdError {}

/** An external command exited non-zero or was killed. */
export class CommandFailedError extends RelengdError {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly logPath: string | undefined;
  constructor(init: { argv: readonly string[]; exitCode: number | null; signal: string | null; stderr: string; logPath?: string; retriable?: boolean }) {
    const how = init.signal ? `killed by ${init.signal}` : `exited with ${init.exitCode}`;
    const tail = init.stderr.trim().split('\n').slice(-3).join(' | ');
    super(`${init.argv[0]} ${how}${tail ? `: ${tail}` : ''}`, { retriable: init.retriable ?? false });
    this.argv = init.argv;
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.stderr = init.stderr;
    this.logPath = init.logPath;
  }
}

/** The program is not installed (spawn said ENOENT): the message says what to install. */
export class ToolMissingError extends CommandFailedError {
  constructor(argv: readonly string[]) {
    super({ argv, exitCode: null, signal: null, stderr: '' });
    this.message = notInstalledMessage(argv[0] ?? '');
  }
}

/** A ref did not point where we expected (compare-and-swap lost). */
export class RefConflictError extends RelengdError {
  readonly ref: string;
  readonly expected: string | null;
  readonly actual: string | null;
  constructor(ref: string, expected: string | null, actual: string | null) {
    super(`ref ${ref} moved: expected ${expected ?? '(absent)'}, found ${actual ?? '(absent)'}`);
    this.ref = ref;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An OSTree ref name or path that fails validation before any command runs. */
export class InvalidRefError extends RelengdError {
  readonly ref: string;
  constructor(ref: string, why: string) {
    super(`invalid ref ${JSON.stringify(ref)}: ${why}`);
    this.ref = ref;
  }
}
