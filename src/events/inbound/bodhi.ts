/**
 * Bodhi messages that say an updates repo is ready: the trigger to compose the OSTree
 * streams fed by that repo. Three generations of the same event exist on the bus.
 */
import { z } from 'zod';

/**
 * Bodhi 4+ composer finished composing one repo (`f29-updates-testing`).
 * Covers the fedmsg-era capture (with `agent`, `ctype` rpm) and the bodhi-messages
 * ComposeCompleteV1 shapes (container composes, `success: false`).
 */
export const BodhiComposeComplete = z.looseObject({
  /** Repo name, Bodhi style: `<dist tag>-updates[-testing]`. */
  repo: z.string(),
  /** A failed compose must not trigger builds. */
  success: z.boolean(),
  /** rpm, module or container; only rpm repos feed OSTree composes. */
  ctype: z.string().optional(),
  agent: z.string().optional(),
});
export type BodhiComposeComplete = z.infer<typeof BodhiComposeComplete>;

/**
 * Bodhi 2/3 (fedmsg-era) masher finished mashing one repo: the predecessor of
 * `bodhi.compose.complete`. Bodhi 3 sends `ctype`/`agent`; Bodhi 2 sent only `repo` and `success`.
 */
export const BodhiMashtaskComplete = z.looseObject({
  repo: z.string(),
  success: z.boolean(),
  ctype: z.string().optional(),
  agent: z.string().optional(),
});
export type BodhiMashtaskComplete = z.infer<typeof BodhiMashtaskComplete>;

/** Sync statistics arrive as strings (`"1259"`, `"1 GiB"`); numbers are accepted too, since nothing here depends on them. */
const syncStat = z.union([z.string(), z.number()]).optional();

/**
 * new-updates-sync pushed an updates repo to the master mirror (fedmsg era). There is no
 * success flag: the message is only sent after a completed sync. The repo is split into
 * `release` (`"29"`, `"30m"` for modular, `"21"`) and `repo` (`updates`, `updates-testing`, `atomic`).
 * Covers the regular, modular, Atomic (F21) and fedmsg-atomic-composer (F19) captures.
 */
export const BodhiUpdatesFedoraSync = z.looseObject({
  release: z.string(),
  repo: z.string(),
  bytes: syncStat,
  raw_bytes: syncStat,
  deleted: syncStat,
});
export type BodhiUpdatesFedoraSync = z.infer<typeof BodhiUpdatesFedoraSync>;

/** The topics that announce a finished updates repo, with their bodies. */
export interface BodhiRepoBodies {
  'bodhi.compose.complete': BodhiComposeComplete;
  'bodhi.mashtask.complete': BodhiMashtaskComplete;
  'bodhi.updates.fedora.sync': BodhiUpdatesFedoraSync;
}
export type BodhiRepoTopic = keyof BodhiRepoBodies;

export interface UpdatesRepo {
  /** Bodhi-style repo name, e.g. `f29-updates-testing`. */
  repo: string;
  /** Whether the repo is usable; false means do not compose from it. */
  success: boolean;
}

/** Bodhi-style repo name from a sync message's parts: release "29", repo "updates" -> "f29-updates". */
export function bodhiRepoName(release: string, repo: string): string {
  return `f${release}-${repo}`;
}

/**
 * The updates repo a Bodhi message announces and whether it succeeded, whatever the generation.
 * For `bodhi.updates.fedora.sync` the name is built as `f<release>-<repo>` (modular release
 * "30m" gives "f30m-updates") and success is always true: that message only follows a completed sync.
 */
export function updatesRepoOf<T extends BodhiRepoTopic>(topic: T, body: BodhiRepoBodies[T]): UpdatesRepo {
  if (topic === 'bodhi.updates.fedora.sync') {
    return { repo: bodhiRepoName(String(body.release), body.repo), success: true };
  }
  return { repo: body.repo, success: body.success === true };
}
