import type { Wakeups } from '../../src/bus/calendar/index.ts';
import { fixedClock } from '../../src/clock.ts';

interface PendingWakeup {
  at: number;
  ms: number;
  wake: () => void;
  done: boolean;
}

/**
 * A clock that stands still and timers that go off only when the test moves the clock past them:
 * the calendar's waits cost no real time, and a test can see every timer it set.
 */
export function fakeTime(start: string) {
  const clock = fixedClock(start);
  const wakeups: PendingWakeup[] = [];
  const timers: Wakeups = {
    after(ms, wake) {
      const pending = { at: clock.now().getTime() + ms, ms, wake, done: false };
      wakeups.push(pending);
      return () => void (pending.done = true);
    },
  };
  return {
    clock,
    timers,
    /** The delays (ms) of the timers set and neither run nor cancelled. */
    pending: (): number[] => wakeups.filter((w) => !w.done).map((w) => w.ms),
    /**
     * Moves the clock to `to`, running each timer due on the way at its own time, and after each
     * waits for `settle` (what the timer started: the calendar's firing).
     */
    async advanceTo(to: string, settle: () => Promise<void>): Promise<void> {
      const target = new Date(to).getTime();
      for (;;) {
        const next = wakeups.filter((w) => !w.done && w.at <= target).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        next.done = true;
        clock.set(new Date(Math.max(next.at, clock.now().getTime())));
        next.wake();
        await settle();
      }
      clock.set(new Date(target));
    },
  };
}
