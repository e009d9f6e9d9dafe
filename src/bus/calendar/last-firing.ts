import type { ScheduleFired } from '../../events/relengd/schedule.ts';
import type { StoreApi } from '../../store/api.ts';

export const FIRED_TOPIC = 'relengd.schedule.fired';

/** A schedule's newest stored firing. */
export interface LastFiring {
  id: string;
  /** The slot it fired for. */
  slot: string;
  /** When it fired (the event's time): later than the slot for a missed slot fired on start. */
  firedAt: string;
  missed: boolean;
}

/**
 * What a schedule fired last, read from the store (a firing's subject is its schedule's key): what
 * fired before a restart is known after it, whoever fired it. Null when it never fired, or when
 * that firing is older than the store keeps events (`retention.events`).
 */
export async function lastFiring(store: StoreApi, scheduleKey: string): Promise<LastFiring | null> {
  const [newest] = await store.events.query({ topic: FIRED_TOPIC, subject: scheduleKey, limit: 1 });
  if (!newest || newest.unreadable) return null;
  const data = newest.envelope.data as ScheduleFired;
  return { id: newest.envelope.id, slot: data.slot, firedAt: newest.envelope.time, missed: data.missed };
}
