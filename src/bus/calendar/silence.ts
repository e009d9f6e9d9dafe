import type { Clock } from '../../clock.ts';
import type { WatchConfig } from '../../config/index.ts';
import { busSilentId } from '../../events/ids.ts';
import type { BusSilent } from '../../events/relengd/bus.ts';
import type { Logger } from '../../log.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import type { DeliverBatch } from '../transport.ts';
import { timerDelivery } from './firing.ts';
import { RETRY_MS } from './source.ts';
import { TimerLoop } from './timer-loop.ts';
import { realWakeups, type Wakeups } from './wakeups.ts';

export const SILENT_TOPIC = 'relengd.bus.silent';

const HOUR_MS = 3_600_000;

export interface SilenceWatchOptions {
  watches: readonly WatchConfig[];
  clock: Clock;
  logger: Logger;
  topicPrefix: string;
  /**
   * When the newest message of a (bare) topic was stored (ISO), from the store: a message stored
   * before a restart, or by another process, counts.
   */
  lastSeen(topic: string): Promise<string | null>;
  wakeups?: Wakeups | undefined;
}

/** A watched topic as of now. */
export interface TopicSilence {
  topic: string;
  quietHours: number;
  lastSeen: string | null;
  /** Seconds since `lastSeen`; null when no message is stored. */
  ageSeconds: number | null;
  /** Quiet for longer than quietHours (since the watch started, when no message is stored). */
  silent: boolean;
}

/**
 * Watches topics that must not go quiet (`watch`): when one has had no stored message for longer
 * than its quietHours, a `relengd.bus.silent` goes through the intake like a calendar firing (the
 * `calendar` source, under an id derived from the topic and its last message), and a warning is
 * logged, once per silence. A timer like the calendar's (injected `wakeups`) is set for the
 * earliest moment a topic could go silent; nothing is polled per message.
 */
export class SilenceWatch {
  readonly name = 'silence-watch';
  readonly #o: SilenceWatchOptions;
  readonly #log: Logger;
  readonly #loop: TimerLoop;
  #startedAt: number;
  #deliver: DeliverBatch | null = null;
  /** Per topic, the silence (its last message) already reported or refused in this process: not delivered again. */
  readonly #settled = new Map<string, string | null>();
  readonly #retrying = new Set<string>();

  constructor(options: SilenceWatchOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'silence-watch' });
    this.#loop = new TimerLoop({ wakeups: options.wakeups ?? realWakeups, check: () => this.#check(), logger: this.#log, what: 'silence check' });
    this.#startedAt = options.clock.now().getTime();
  }

  /** Reports a silence that began before the start (checked at once), then waits. Resolves once that is stored. */
  async start(deliver: DeliverBatch): Promise<void> {
    this.#deliver = deliver;
    this.#startedAt = this.#o.clock.now().getTime();
    await this.#loop.wake();
  }

  /** Resolves when no report is being stored. */
  idle(): Promise<void> {
    return this.#loop.idle();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Every watched topic as of now (what /metrics shows). */
  async status(): Promise<TopicSilence[]> {
    const now = this.#o.clock.now().getTime();
    const lastSeens = await Promise.all(this.#o.watches.map(({ topic }) => this.#o.lastSeen(topic)));
    return this.#o.watches.map(({ topic, quietHours }, i) => {
      const lastSeen = lastSeens[i] ?? null;
      return { topic, quietHours, lastSeen, ageSeconds: lastSeen === null ? null : Math.max(0, (now - Date.parse(lastSeen)) / 1000), silent: now >= this.#silentAt(quietHours, lastSeen) };
    });
  }

  /** When a topic whose last message is `lastSeen` counts as silent. */
  #silentAt(quietHours: number, lastSeen: string | null): number {
    return (lastSeen === null ? this.#startedAt : Date.parse(lastSeen)) + quietHours * HOUR_MS;
  }

  async #check(): Promise<void> {
    if (!this.#deliver) return;
    const now = this.#o.clock.now();
    const topics = (await this.status()).map((t) => ({ ...t, silentAt: this.#silentAt(t.quietHours, t.lastSeen) }));
    this.#retrying.clear();
    const due = topics.filter((t) => t.silent && !(this.#settled.has(t.topic) && this.#settled.get(t.topic) === t.lastSeen));
    if (due.length > 0) {
      const deliveries = due.map((t) => silenceDelivery(t, now, this.#o.topicPrefix));
      try {
        const outcomes = await this.#deliver(deliveries);
        for (const [i, outcome] of outcomes.entries()) {
          const t = due[i]!;
          const fields = { topic: t.topic, lastSeen: t.lastSeen, quietHours: t.quietHours };
          if (outcome.kind === 'retry-later') {
            this.#retrying.add(t.topic);
            continue;
          }
          this.#settled.set(t.topic, t.lastSeen);
          if (outcome.kind === 'committed') this.#log.warn({ ...fields, msgId: outcome.id }, `no message on ${t.topic} for more than ${t.quietHours} hours: the feed or relengd's consumer may have stopped`);
          else if (outcome.kind === 'duplicate') this.#log.debug(fields, 'silence reported already');
          else this.#log.error({ ...fields, outcome }, 'silence report refused');
        }
      } catch (error) {
        this.#log.error({ err: error }, 'silence report could not be stored; trying again');
        for (const t of due) this.#retrying.add(t.topic);
      }
    }
    this.#arm(now.getTime(), topics);
  }

  /**
   * One timer, for the earliest moment a topic may go silent. A topic silent already is looked at
   * again quietHours later: a message arriving after now moves its silence past that.
   */
  #arm(now: number, topics: ReadonlyArray<{ topic: string; quietHours: number; silentAt: number }>): void {
    if (topics.length === 0) return;
    const wakeAt = topics.map((t) => (this.#retrying.has(t.topic) ? now + RETRY_MS : t.silentAt > now ? t.silentAt : now + t.quietHours * HOUR_MS));
    this.#loop.wakeIn(Math.min(...wakeAt) - now);
  }
}

/** A silence as a delivery for the intake, from the `calendar` source (the only one the trust model takes it from). */
function silenceDelivery(t: { topic: string; quietHours: number; lastSeen: string | null }, now: Date, topicPrefix: string): Delivery {
  const data: BusSilent = { topic: t.topic, lastSeen: t.lastSeen, quietHours: t.quietHours };
  return timerDelivery({ topic: SILENT_TOPIC, id: busSilentId(t.topic, t.lastSeen), data, subject: t.topic, source: '/relengd/watch', now, topicPrefix });
}
