import { z } from 'zod';

/**
 * relengd.bus.silent: a watched topic (`watch`) has had no message for longer than its quietHours.
 * Written only by relengd's silence watch, in process (never taken from outside); its id is derived
 * from the topic and the last message seen, so one silence is reported once however often relengd
 * checks or restarts, and the next silence (after a message) is reported again.
 */
export const BusSilent = z.looseObject({
  /** The bare topic watched; also the event's subject. */
  topic: z.string(),
  /** When the newest message on the topic was stored; null when none is (never seen, or pruned). */
  lastSeen: z.iso.datetime().nullable(),
  quietHours: z.number().positive(),
});
export type BusSilent = z.infer<typeof BusSilent>;
