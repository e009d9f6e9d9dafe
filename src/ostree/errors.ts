/**
 * Errors of the OSTree wrapper. All are programmer or data errors that trying again cannot fix
 * (`retriable: false`); a failed `ostree` process is the shared `CommandFailedError`.
 */
import { RelengdError } from '../errors.ts';

/** A commit checksum that is not 64 lowercase hex digits; thrown before any command runs. */
export class InvalidChecksumError extends RelengdError {
  readonly checksum: string;
  constructor(checksum: string) {
    super(`invalid commit checksum ${JSON.stringify(checksum)}: expected 64 lowercase hex digits`);
    this.checksum = checksum;
  }
}

/** An argument other than a ref or checksum (subject, metadata key, timestamp, mode) is unusable. */
export class InvalidOstreeArgumentError extends RelengdError {
  /** The option it was given for (`subject`, `metadata key`, `timestamp`, ...). */
  readonly argument: string;
  constructor(argument: string, why: string) {
    super(`invalid ${argument}: ${why}`);
    this.argument = argument;
  }
}

/** The commit object is not in the repository (never written, pruned, or history not fetched). */
export class CommitNotFoundError extends RelengdError {
  readonly checksum: string;
  /** The repository that was looked in, when the message should name it (another repository than the one worked on). */
  readonly repository: string | undefined;
  constructor(checksum: string, repository?: string) {
    super(`commit ${checksum} is not in the repository${repository === undefined ? '' : ` ${repository}`}`);
    this.checksum = checksum;
    this.repository = repository;
  }
}

/** `ostree` printed something its parser does not understand (a CLI change, or an unsupported type). */
export class OstreeParseError extends RelengdError {
  /** What the parser expected, e.g. `a commit checksum`. */
  readonly expected: string;
  /** The text it was given. */
  readonly text: string;
  constructor(expected: string, text: string) {
    super(`unexpected ostree output (expected ${expected}): ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`);
    this.expected = expected;
    this.text = text;
  }
}
