import { z } from 'zod';
import { SignRequested, SignSubject } from '../../events/relengd/sign.ts';

/**
 * What the signing jobs are given (see ../specs.ts for why executors parse their spec): the keyring
 * and keys the signature is checked against come from the configuration when the job was decided.
 */

/** How a signature is checked: against the public keyrings in `keyring` only; it counts when made by one of `keyIds`. */
export const SignVerification = z.object({
  keyring: z.string(),
  keyIds: z.array(z.string()).min(1),
});
export type SignVerification = z.infer<typeof SignVerification>;

/** Waits for one sending of a request: until the signature is there, the attempt's deadline, or the next resend. */
export const SignWaitJobSpec = z.object({
  request: SignRequested,
  verification: SignVerification,
  timeoutMinutes: z.number().int().positive(),
  resendMinutes: z.number().int().positive().optional(),
});
export type SignWaitJobSpec = z.infer<typeof SignWaitJobSpec>;

/** Checks the commit's signature after a signer replied that it signed it. */
export const SignVerifyJobSpec = z.object({
  subject: SignSubject,
  requestId: z.string(),
  /** The reply's event id. */
  replyId: z.string(),
  verification: SignVerification,
});
export type SignVerifyJobSpec = z.infer<typeof SignVerifyJobSpec>;

/**
 * Watches a commit whose signing the retry policy gave up on, for a signature that appears late
 * (robosignatory signs without a reply): checked every `everyMinutes`, until `until`, asking nothing.
 */
export const SignWatchJobSpec = z.object({
  subject: SignSubject,
  /** The last request (null: none known). */
  requestId: z.string().nullable(),
  verification: SignVerification,
  everyMinutes: z.number().int().positive(),
  until: z.iso.datetime({ offset: true }),
});
export type SignWatchJobSpec = z.infer<typeof SignWatchJobSpec>;

/**
 * Where a commit's signing stands in the saga's records, as a signing job may ask it between checks
 * to end a wait nothing is waiting for any more: null when there is no record (pruned).
 */
export interface SigningStand {
  state: 'requested' | 'timed-out' | 'verified';
  /** The request in play. */
  requestId: string | null;
}
