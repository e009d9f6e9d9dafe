import type { Config, StreamConfig } from '../../config/index.ts';
import type { ComposeStatus } from '../../events/relengd/release.ts';
import type { StatePatch, StateView } from '../listener.ts';
import type { TrackedCompose } from './compose-tracker.ts';

/**
 * What relengd knows of one Pungi compose (the seed's nightly path), shared by pungi-ostree (which
 * records each arch's commit) and pungi-tracker (which ends the compose on Pungi's status).
 */
export const PUNGI_COMPOSE = 'pungi-compose';

/** One stream's arch of a Pungi compose: the commit Pungi announced, and how far relengd got with it. */
export interface PungiArch {
  /** The arch's own compose id (derived from Pungi's compose id and the stream): its artifacts and events carry it. */
  composeId: string;
  commit: string | null;
  /**
   * `verifying`: being looked for in the compose repository; `verified`: found there;
   * `refused`: unusable (`error` says why); `unchanged`: Pungi made no new commit.
   */
  state: 'verifying' | 'verified' | 'refused' | 'unchanged';
  error?: string;
  artifacts: TrackedCompose['artifacts'];
}

/** One Pungi compose, by Pungi's compose id. */
export interface PungiCompose {
  /** Pungi's final status once it said it; the first one counts. */
  status: ComposeStatus | null;
  /** By stream id. */
  arches: Record<string, PungiArch>;
  /** Streams whose `compose.finished` was emitted, with its status: nothing changes them after. */
  announced: Record<string, ComposeStatus>;
  /** Streams already named in a refusal, so a repeated message does not refuse them again. */
  refused: string[];
}

export function loadPungiCompose(state: StateView, pungiComposeId: string): PungiCompose {
  return (state.get(PUNGI_COMPOSE, pungiComposeId) as PungiCompose | undefined) ?? { status: null, arches: {}, announced: {}, refused: [] };
}

export function savePungiCompose(pungiComposeId: string, compose: PungiCompose): StatePatch {
  return { namespace: PUNGI_COMPOSE, key: pungiComposeId, value: compose };
}

/**
 * Pungi's statuses that end a compose, as relengd's: TERMINATED (killed) ends it like DOOMED.
 * Others (STARTED, ...) are not final: null.
 */
export function finalStatus(status: string): ComposeStatus | null {
  switch (status) {
    case 'FINISHED':
    case 'FINISHED_INCOMPLETE':
    case 'DOOMED':
      return status;
    case 'TERMINATED':
      return 'DOOMED';
    default:
      return null;
  }
}

/** The streams whose `triggers.pungi.composeId` takes this compose id. */
export function streamsOfPungiCompose(config: Config, pungiComposeId: string): StreamConfig[] {
  return config.streams.filter((s) => s.triggers.pungi !== undefined && globMatches(s.triggers.pungi.composeId, pungiComposeId));
}

/**
 * Matches a glob (`*` any run of characters, `?` one) against the whole of `text`: the greedy
 * matcher that, on a mismatch, lets the last `*` take one more character. At most pattern x text
 * steps, where a regular expression built from several `*`s can backtrack exponentially.
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1; // the last `*` seen, and where in text it began to match
  let from = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      from = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++from;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
