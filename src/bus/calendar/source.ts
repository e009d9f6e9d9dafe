import type { Clock } from '../../clock.ts';
import { latestSlot, nextSlot } from '../../config/index.ts';
import type { Logger } from '../../log.ts';
import type { GroupSchedule } from '../../pipeline/listeners/schedules.ts';
import type { DeliverBatch } from '../transport.ts';
import { firingDelivery } from './firing.ts';
import { TimerLoop } from './timer-loop.ts';
import { realWakeups, type Wakeups } from './wakeups.ts';

/** A firing the store could not take (busy, disk full) is tried again this much later. */
export const RETRY_MS = 30_000;

export interface CalendarOptions {
  schedules: readonly GroupSchedule[];
  clock: Clock;
  logger: Logger;
  topicPrefix: string;
  /**
   * The slot a schedule fired last, from the store: a restart knows what fired before it, so a slot
   * never fires twice and a missed one is seen as missed.
   */
  lastFiredSlot(scheduleKey: string): Promise<Date | null>;
  wakeups?: Wakeups | undefined;
}

/**
 * Time as an event source (`triggers.schedule`): each slot of a schedule becomes one stored
 * `relengd.schedule.fired`, delivered through the intake like a transport's messages. One timer is
 * set for the earliest next slot, never longer than setTimeout allows, and it does not keep the
 * process alive. On start, a slot that passed while relengd was not running fires once (the latest
 * of them, with `catchUp: latest`; none with `catchUp: none`): never a storm of every missed slot.
 */
export class CalendarSource {
  readonly name = 'calendar';
  readonly #o: CalendarOptions;
  readonly #log: Logger;
  readonly #loop: TimerLoop;
  /** Per schedule key, the slot to fire next (in the past when one is to fire at once or again). */
  readonly #due = new Map<string, Date>();
  #deliver: DeliverBatch | null = null;
  #startedAt = 0;
  /** Schedules whose firing the store could not take: tried again RETRY_MS later. */
  readonly #retrying = new Set<string>();

  constructor(options: CalendarOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'calendar' });
    this.#loop = new TimerLoop({ wakeups: options.wakeups ?? realWakeups, check: () => this.#fireDue(), logger: this.#log, what: 'calendar' });
  }

  /** Fires what was missed (per `catchUp`), then waits for the next slot. Resolves once the missed slots are stored. */
  async start(deliver: DeliverBatch): Promise<void> {
    this.#deliver = deliver;
    const now = this.#o.clock.now();
    this.#startedAt = now.getTime();
    for (const schedule of this.#o.schedules) {
      const missed = schedule.catchUp === 'latest' ? await this.#missedSlot(schedule, now) : null;
      const next = missed ?? nextSlot(schedule, now);
      if (next) this.#due.set(schedule.key, next);
    }
    await this.#loop.wake();
  }

  /** Resolves when no firing is being stored. */
  idle(): Promise<void> {
    return this.#loop.idle();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** The latest slot at or before `now` when it is newer than the last stored firing; a schedule that never fired has missed nothing. */
  async #missedSlot(schedule: GroupSchedule, now: Date): Promise<Date | null> {
    const last = await this.#o.lastFiredSlot(schedule.key);
    const latest = latestSlot(schedule, now);
    return last && latest && latest > last ? latest : null;
  }

  async #fireDue(): Promise<void> {
    if (!this.#deliver) return;
    const now = this.#o.clock.now();
    // Slots passed by while the process was suspended fire once too: the latest of them.
    const due = this.#o.schedules.flatMap((schedule) => {
      const next = this.#due.get(schedule.key);
      const slot = next && next <= now ? latestSlot(schedule, now) : null;
      return slot ? [{ schedule, slot, missed: slot.getTime() < this.#startedAt }] : [];
    });
    this.#retrying.clear();
    if (due.length > 0) {
      const deliveries = due.map(({ schedule, slot, missed }) => firingDelivery(schedule, slot, { now, missed, topicPrefix: this.#o.topicPrefix }));
      try {
        const outcomes = await this.#deliver(deliveries);
        for (const [i, outcome] of outcomes.entries()) {
          const { schedule, slot, missed } = due[i]!;
          const fields = { schedule: schedule.key, slot: slot.toISOString(), missed };
          if (outcome.kind === 'committed') this.#log.info({ ...fields, msgId: outcome.id }, 'schedule fired');
          else if (outcome.kind === 'duplicate') this.#log.debug(fields, 'slot fired already');
          else if (outcome.kind === 'retry-later') this.#retrying.add(schedule.key);
          else this.#log.error({ ...fields, outcome }, 'firing refused; the slot is skipped');
        }
      } catch (error) {
        this.#log.error({ err: error }, 'firing could not be stored; trying again');
        for (const { schedule } of due) this.#retrying.add(schedule.key);
      }
    }
    for (const { schedule } of due) {
      if (this.#retrying.has(schedule.key)) continue; // stays due
      const next = nextSlot(schedule, now);
      if (next) this.#due.set(schedule.key, next);
      else this.#due.delete(schedule.key);
    }
    this.#arm();
  }

  /** One timer, for the earliest slot (or retry) to come. */
  #arm(): void {
    const now = this.#o.clock.now().getTime();
    const wakeAt = [...this.#due].map(([key, slot]) => (this.#retrying.has(key) ? now + RETRY_MS : slot.getTime()));
    if (wakeAt.length === 0) return; // no schedule has a slot left
    this.#loop.wakeIn(Math.min(...wakeAt) - now);
  }
}
