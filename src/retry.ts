/**
 * The one retry helper: jittered exponential backoff. Programmer errors (TypeError, RangeError,
 * ReferenceError, SyntaxError) and errors marked `retriable: false` are never retried.
 */
export interface RetryPolicy {
  /** First delay in ms. */
  initialMs: number;
  /** Cap on one delay in ms. */
  maxMs: number;
  factor: number;
  /** 0..1: the share of each delay that is randomised. */
  jitter: number;
  /** Attempts in all (Infinity: until stopped). */
  maxAttempts: number;
}

export const defaultRetry: RetryPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2, maxAttempts: Infinity };
/** For tests: quick, few attempts. */
export const fastRetry: RetryPolicy = { initialMs: 10, maxMs: 100, factor: 2, jitter: 0, maxAttempts: 5 };

/** The delay before attempt `attempt + 1` (attempt counts from 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** (attempt - 1));
  const spread = base * policy.jitter;
  // Jitter spreads below and above the base, but never past the cap.
  return Math.min(policy.maxMs, Math.round(base - spread + random() * 2 * spread));
}

export function isRetriable(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError) return false;
  if (error && typeof error === 'object' && 'retriable' in error) return (error as { retriable: unknown }).retriable !== false;
  return true;
}

export interface RetryHooks {
  signal?: AbortSignal | undefined;
  onRetry?: ((error: unknown, attempt: number, delayMs: number) => void) | undefined;
}

/** Runs `fn` until it succeeds, fails with a non-retriable error, runs out of attempts or is aborted. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy = defaultRetry, hooks: RetryHooks = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetriable(error) || attempt >= policy.maxAttempts || hooks.signal?.aborted) throw error;
      const delay = backoffDelay(policy, attempt);
      hooks.onRetry?.(error, attempt, delay);
      await sleep(delay, hooks.signal);
      if (hooks.signal?.aborted) throw error;
    }
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
