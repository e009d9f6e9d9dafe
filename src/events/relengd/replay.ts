import { z } from 'zod';
import type { TopicSpec } from '../catalogue.ts';

/**
 * Replay by an operator over the daemon's HTTP route (`POST /replay`): the record that one was
 * performed, with who asked. Written by the daemon itself, never taken from outside; the replay's
 * own effects are the events and jobs it filled in, each under its usual derived id.
 */

/** Which stored events were replayed, as the dry run the operator confirmed resolved it (absolute times, bare topic). */
export const ReplaySelectionRecord = z.looseObject({
  since: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
  /** Bare topic or AMQP-style pattern. */
  topic: z.string().optional(),
  ids: z.array(z.string()).optional(),
  correlationId: z.string().optional(),
});
export type ReplaySelectionRecord = z.infer<typeof ReplaySelectionRecord>;

/** relengd.replay.performed: an operator confirmed a replay's dry run and the daemon performed it. */
export const ReplayPerformed = z.looseObject({
  /** The identity the HTTP server authenticated (a token's publisher, a client certificate's CN). */
  requestedBy: z.string(),
  selection: ReplaySelectionRecord,
  /** Stored events the selection matched. */
  selected: z.number().int().nonnegative(),
  /** Events emitted, jobs enqueued, finished jobs run again because their outcome was missing; promotions among the jobs. */
  emitted: z.number().int().nonnegative(),
  enqueued: z.number().int().nonnegative(),
  requeued: z.number().int().nonnegative(),
  promotions: z.number().int().nonnegative(),
  /** The digest of the dry run the operator confirmed (the selection and everything it would do). */
  confirmed: z.string(),
});
export type ReplayPerformed = z.infer<typeof ReplayPerformed>;

export const replayTopics = {
  'relengd.replay.performed': {
    schema: ReplayPerformed,
    summary: 'An operator replayed stored events after seeing the dry run: the selection, what it filled in, and who asked.',
    origin: 'relengd',
  },
} as const satisfies Record<string, TopicSpec>;
