import type { Logger } from '../../log.ts';
import { MAX_TIMER_MS, type Wakeups } from './wakeups.ts';

/**
 * The loop of a source driven by time (the calendar, the silence watch): one check at a time, one
 * timer for the next, never longer than setTimeout allows (a later moment is reached by waking on
 * the way). A check that throws stops the loop, logged: the process stays up.
 */
export class TimerLoop {
  readonly #wakeups: Wakeups;
  readonly #check: () => Promise<void>;
  readonly #log: Logger;
  readonly #what: string;
  #cancel: (() => void) | null = null;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(o: { wakeups: Wakeups; check: () => Promise<void>; logger: Logger; what: string }) {
    this.#wakeups = o.wakeups;
    this.#check = o.check;
    this.#log = o.logger;
    this.#what = o.what;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs a check now (after the one running); resolves when it is done. */
  wake(): Promise<void> {
    this.#cancel = null;
    this.#running = this.#running.then(() => (this.#stopped ? undefined : this.#check())).catch((error: unknown) => this.#log.error({ err: error }, `${this.#what} failed; no further checks until restart`));
    return this.#running;
  }

  /** Sets the one timer: a check in `ms` (capped at MAX_TIMER_MS). */
  wakeIn(ms: number): void {
    if (this.#stopped) return;
    this.#cancel?.();
    this.#cancel = this.#wakeups.after(Math.min(Math.max(0, ms), MAX_TIMER_MS), () => void this.wake());
  }

  /** Resolves when no check runs. */
  idle(): Promise<void> {
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = null;
    await this.#running;
  }
}
