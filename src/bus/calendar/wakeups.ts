/** setTimeout's largest delay (2^31-1 ms, about 24.8 days): a later slot is reached by waking up on the way. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One-shot timers, injected so tests move time themselves (with a fake clock) instead of sleeping. */
export interface Wakeups {
  /** Calls `wake` after `ms` (at most MAX_TIMER_MS); returns what cancels it. */
  after(ms: number, wake: () => void): () => void;
}

/** Real timers that never keep the process alive: the calendar waits only while something else runs. */
export const realWakeups: Wakeups = {
  after(ms, wake) {
    const timer = setTimeout(wake, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
