/** The one source of wall-clock time, injected so tests and replays control it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved (tests). */
export function fixedClock(start: Date | string): Clock & { advance(ms: number): void; set(t: Date | string): void } {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    advance: (ms) => void (t += ms),
    set: (v) => void (t = new Date(v).getTime()),
  };
}
