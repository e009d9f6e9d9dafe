/**
 * Pungi compose messages: the pre-release (nightly) path. A compose changes status as it
 * runs, and its ostree phase announces each ref it committed.
 */
import { z } from 'zod';

/**
 * A Pungi compose changed status. Covers STARTED, FINISHED and TERMINATED captures.
 * `status` stays a free string: Pungi also sends FINISHED_INCOMPLETE and DOOMED, and may add more.
 * (A compose that never started is a different topic, `pungi.compose.fail.to.start`, with no compose id.)
 */
export const PungiComposeStatusChange = z.looseObject({
  status: z.string(),
  compose_id: z.string(),
  /** URL of the compose's `compose/` directory. */
  location: z.string().optional(),
});
export type PungiComposeStatusChange = z.infer<typeof PungiComposeStatusChange>;

/**
 * Pungi's ostree phase updated a ref for one variant and arch of a compose.
 * Covers the 2016 Atomic shape (ref, commitid, location) and the 2019 IoT shape, which adds
 * compose metadata (`compose_date`, `release_*`) and the repo paths.
 */
export const PungiComposeOstree = z.looseObject({
  ref: z.string(),
  /** null when the compose produced no new commit for the ref. */
  commitid: z.string().nullable(),
  arch: z.string(),
  variant: z.string(),
  /** Present in every capture; correlates the ref with the compose's status messages. */
  compose_id: z.string(),
  location: z.string().optional(),
  repo_path: z.string().optional(),
  local_repo_path: z.string().optional(),
  compose_date: z.string().optional(),
  compose_type: z.string().optional(),
  compose_respin: z.number().optional(),
  compose_label: z.string().optional(),
  release_short: z.string().optional(),
  release_version: z.string().optional(),
  release_type: z.string().optional(),
});
export type PungiComposeOstree = z.infer<typeof PungiComposeOstree>;

/** Whether a status is final: the compose will send nothing more. */
export function composeStatusIsFinal(status: string): boolean {
  return status === 'FINISHED' || status === 'FINISHED_INCOMPLETE' || status === 'DOOMED' || status === 'TERMINATED';
}

