/**
 * The retry helper: how long it waits, what it retries, and when it stops.
 * Timers are faked so the backoff can be observed without waiting for it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandFailedError, MessageRejectedError, RejectReason, RelengdError } from '../../src/errors.ts';
import type { RetryPolicy } from '../../src/retry.ts';
import { backoffDelay, defaultRetry, fastRetry, isRetriable, retry } from '../../src/retry.ts';

const noJitter: RetryPolicy = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0, maxAttempts: 10 };

/** Captures how a promise settles without leaving a rejection unhandled while timers advance. */
function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('backoffDelay', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1000],
    [6, 1000],
    [50, 1000],
  ])('waits %i -> %i ms: doubling from initialMs and capped at maxMs', (attempt, delay) => {
    expect(backoffDelay(noJitter, attempt)).toBe(delay);
  });

  it('grows by the configured factor', () => {
    const triple: RetryPolicy = { ...noJitter, initialMs: 10, factor: 3, maxMs: 10_000 };
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(triple, attempt))).toEqual([10, 30, 90, 270]);
  });

  it('does not grow with factor 1', () => {
    const constant: RetryPolicy = { ...noJitter, factor: 1 };
    expect([1, 2, 3].map((attempt) => backoffDelay(constant, attempt))).toEqual([100, 100, 100]);
  });

  it.each([
    // policy jitter, attempt, random, expected
    [0.2, 1, 0, 80],
    [0.2, 1, 1, 120],
    [0.2, 1, 0.5, 100],
    [0.2, 3, 0, 320],
    [0.2, 3, 1, 480],
    [0.5, 2, 0, 100],
    [0.5, 2, 1, 300],
    [1, 1, 0, 0],
    [1, 1, 1, 200],
  ])('with jitter %d on attempt %i and random() = %d waits %i ms', (jitter, attempt, random, expected) => {
    expect(backoffDelay({ ...noJitter, jitter }, attempt, () => random)).toBe(expected);
  });

  it('ignores the random source when jitter is 0', () => {
    expect(backoffDelay(noJitter, 2, () => 0)).toBe(200);
    expect(backoffDelay(noJitter, 2, () => 0.999)).toBe(200);
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(backoffDelay({ ...noJitter, initialMs: 7, jitter: 0.3 }, 1, () => 0.123))).toBe(true);
  });
});

describe('isRetriable', () => {
  it.each([
    ['a TypeError', new TypeError('x is not a function')],
    ['a RangeError', new RangeError('invalid array length')],
    ['a ReferenceError', new ReferenceError('x is not defined')],
    ['a SyntaxError', new SyntaxError('Unexpected token')],
    ['a RelengdError marked retriable: false', new RelengdError('bad', { retriable: false })],
    ['a RelengdError without retriable (defaults to false)', new RelengdError('bad')],
    ['a failed command', new CommandFailedError({ argv: ['rpm-ostree', 'compose', 'tree'], exitCode: 1, signal: null, stderr: 'error: bad treefile' })],
    ['a rejected message', new MessageRejectedError(RejectReason.schema, 'bodhi.compose.complete: success: expected boolean', 'success')],
    ['a plain object marked retriable: false', { retriable: false }],
  ])('does not retry %s', (_what, error) => {
    expect(isRetriable(error)).toBe(false);
  });

  it.each([
    ['a plain Error', new Error('ECONNRESET')],
    ['a RelengdError marked retriable: true', new RelengdError('broker away', { retriable: true })],
    [
      'a failed command marked retriable',
      new CommandFailedError({ argv: ['ostree', 'pull'], exitCode: null, signal: 'SIGTERM', stderr: '', retriable: true }),
    ],
    ['a plain object marked retriable: true', { retriable: true }],
    ['a thrown string', 'timeout'],
    ['undefined', undefined],
  ])('retries %s', (_what, error) => {
    expect(isRetriable(error)).toBe(true);
  });
});

describe('retry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the first result when nothing fails, without waiting', async () => {
    const fn = vi.fn(async () => 'ok');
    await expect(retry(fn, fastRetry)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('returns the result after transient failures, backing off between attempts', async () => {
    const fn = vi.fn(async (attempt: number) => {
      if (attempt < 3) throw new Error(`transient ${attempt}`);
      return `ok on ${attempt}`;
    });
    const retries: Array<[string, number, number]> = [];
    const outcome = settle(retry(fn, fastRetry, { onRetry: (error, attempt, delay) => retries.push([(error as Error).message, attempt, delay]) }));

    await vi.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(9);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);

    expect(await outcome).toEqual({ ok: true, value: 'ok on 3' });
    expect(fn.mock.calls.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
    expect(retries).toEqual([
      ['transient 1', 1, 10],
      ['transient 2', 2, 20],
    ]);
  });

  it('gives up after maxAttempts and rethrows the last error', async () => {
    const errors: Error[] = [];
    const fn = vi.fn(async (attempt: number) => {
      const error = new Error(`failure ${attempt}`);
      errors.push(error);
      throw error;
    });
    const outcome = settle(retry(fn, fastRetry));
    await vi.runAllTimersAsync();

    expect(fn).toHaveBeenCalledTimes(fastRetry.maxAttempts);
    const result = await outcome;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBe(errors.at(-1));
    expect(errors.at(-1)?.message).toBe(`failure ${fastRetry.maxAttempts}`);
  });

  it('tries exactly once when maxAttempts is 1', async () => {
    const fn = vi.fn(async () => {
      throw new Error('down');
    });
    await expect(retry(fn, { ...fastRetry, maxAttempts: 1 })).rejects.toThrow('down');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not retry a TypeError', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'repo')");
    const fn = vi.fn(async () => {
      throw bug;
    });
    const onRetry = vi.fn();
    await expect(retry(fn, fastRetry, { onRetry })).rejects.toBe(bug);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('does not retry an error marked retriable: false', async () => {
    const failed = new CommandFailedError({ argv: ['rpm-ostree', 'compose', 'tree'], exitCode: 1, signal: null, stderr: 'error: bad treefile' });
    const fn = vi.fn(async () => {
      throw failed;
    });
    await expect(retry(fn, fastRetry)).rejects.toBe(failed);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retries a RelengdError marked retriable: true', async () => {
    const fn = vi.fn(async (attempt: number) => {
      if (attempt === 1) throw new RelengdError('broker away', { retriable: true });
      return 'connected';
    });
    const outcome = settle(retry(fn, fastRetry));
    await vi.runAllTimersAsync();
    expect(await outcome).toEqual({ ok: true, value: 'connected' });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('does not retry when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const fn = vi.fn(async () => {
      throw new Error('transient');
    });
    await expect(retry(fn, fastRetry, { signal: controller.signal })).rejects.toThrow('transient');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('stops retrying as soon as the signal aborts during a backoff, without waiting it out', async () => {
    const controller = new AbortController();
    const policy: RetryPolicy = { ...fastRetry, initialMs: 60_000, maxMs: 60_000, maxAttempts: Infinity };
    const fn = vi.fn(async (attempt: number) => {
      throw new Error(`transient ${attempt}`);
    });
    const outcome = settle(retry(fn, policy, { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);

    controller.abort();
    const result = await outcome;
    expect(result.ok).toBe(false);
    expect(!result.ok && (result.error as Error).message).toMatch(/^transient \d$/);
    const calls = fn.mock.calls.length;

    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(fn).toHaveBeenCalledTimes(calls);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('retry regressions', () => {
  it('does not start another attempt once the signal is aborted', async () => {
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      const fn = vi.fn(async (attempt: number) => {
        if (attempt === 1) throw new Error('transient');
        return 'started during shutdown';
      });
      const outcome = retry(fn, { ...fastRetry, initialMs: 60_000, maxMs: 60_000 }, { signal: controller.signal }).then(
        (value) => ({ ok: true, value }),
        (error: unknown) => ({ ok: false, error }),
      );
      await vi.advanceTimersByTimeAsync(0);
      controller.abort();
      expect((await outcome).ok).toBe(false);
      expect(fn).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never lets jitter push a delay past maxMs', () => {
    expect(backoffDelay(defaultRetry, 100, () => 1)).toBeLessThanOrEqual(defaultRetry.maxMs);
  });
});
