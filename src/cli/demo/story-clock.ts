import type { Wakeups } from '../../bus/calendar/index.ts';
import type { Clock } from '../../clock.ts';

interface Timer {
  at: number;
  wake: () => void;
  cancelled: boolean;
}

/**
 * The demo daemon's clock and its calendar's timers. The clock reads real time, so what the demo
 * stores ages like anything a daemon records (retention prunes by when an event was received),
 * except while the demo holds it at a moment of the recorded story: while the daemon starts, so its
 * calendar plans from the story's dates and never finds today's slot missed, and while a slot
 * fires. The calendar's timers go off only when the demo reaches their time in the story.
 */
export class StoryClock {
  #held: number | null = null;
  readonly #timers: Timer[] = [];

  readonly clock: Clock = { now: () => new Date(this.#held ?? Date.now()) };

  readonly wakeups: Wakeups = {
    after: (ms, wake) => {
      const timer: Timer = { at: this.clock.now().getTime() + ms, wake, cancelled: false };
      this.#timers.push(timer);
      return () => void (timer.cancelled = true);
    },
  };

  /** Runs `run` with the clock held at `moment`. */
  async at<T>(moment: string, run: () => Promise<T>): Promise<T> {
    this.#held = Date.parse(moment);
    try {
      return await run();
    } finally {
      this.#held = null;
    }
  }

  /**
   * Goes off with each timer due by `moment`, in order, the clock held at the timer's time, and
   * waits for `settle` (what the timer started: the calendar storing a firing) after each.
   */
  async reach(moment: string, settle: () => Promise<void>): Promise<void> {
    const until = Date.parse(moment);
    for (;;) {
      const next = this.#timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) return;
      next.cancelled = true;
      await this.at(new Date(next.at).toISOString(), async () => {
        next.wake();
        await settle();
      });
    }
  }
}
