/**
 * The outbox relay against a fake transport: an event leaves the outbox only when the transport
 * confirmed it, and a failed publish is tried again after a backoff, never dropped.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OutboxRelay } from '../../../src/bus/outbox-relay.ts';
import type { PublishItem, PublishResult, Transport } from '../../../src/bus/transport.ts';
import { fixedClock } from '../../../src/clock.ts';
import { silentLogger } from '../../../src/log.ts';
import type { RetryPolicy } from '../../../src/retry.ts';
import { storeEmitted } from '../../../src/store/emit.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import { openTestStore } from '../../helpers/store.ts';

const PREFIX = 'org.example.prod';
const RETRY: RetryPolicy = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0, maxAttempts: Infinity };

/** A transport whose confirms the test gives: each publish call waits for `answer`. */
class FakeTransport implements Transport {
  readonly name = 'fake';
  ready = true;
  readonly calls: string[][] = [];
  #answers: Array<(results: PublishResult[]) => void> = [];

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  isReady(): boolean {
    return this.ready;
  }
  publish(items: readonly PublishItem[]): Promise<PublishResult[]> {
    this.calls.push(items.map((item) => item.routingKey));
    return new Promise((resolve) => this.#answers.push(resolve));
  }
  /** Confirms (or fails) the oldest publish call still waiting. */
  answer(results: PublishResult[]): void {
    this.#answers.shift()!(results);
  }
}

const stores: StoreApi[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of stores.splice(0)) await s.close();
});

/** Lets the event loop turn until `condition` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  // Bounded by the wall clock (not faked here), not by turns: on PostgreSQL each store call is a round trip.
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/** The store under test (RELENGD_TEST_STORE). */
async function setup() {
  const api = await openTestStore();
  const store = api;
  stores.push(store);
  const transport = new FakeTransport();
  const relay = new OutboxRelay({ store: api, transport, clock: fixedClock('2026-11-26T12:00:00Z'), logger: silentLogger(), retry: RETRY });
  const refusal = async (version: string) =>
    (await storeEmitted(api, { topic: 'relengd.release.promotion.refused', key: version, data: { group: 'f26', version, reason: 'gate-failed', detail: 'smoke test failed' } }, { causeId: `cause-${version}`, correlationId: 'chain', emitter: 'promoter', topicPrefix: PREFIX, now: '2026-11-26T12:00:00Z' }))!;
  return { store, transport, relay, refusal };
}

const routingKey = `${PREFIX}.relengd.release.promotion.refused`;

describe('OutboxRelay', () => {
  it('marks an event sent only once the transport confirmed it', async () => {
    const { store, transport, relay, refusal } = await setup();
    await refusal('26.1');
    await refusal('26.2');
    relay.schedule();
    await until(() => transport.calls.length === 1, 'a publish');
    expect(transport.calls).toEqual([[routingKey, routingKey]]);
    expect(await store.outbox.countPending()).toBe(2); // published, not confirmed

    transport.answer([{ ok: true }, { ok: true }]);
    await relay.idle();
    expect(await store.outbox.countPending()).toBe(0);
  });

  it('keeps a failed publish pending with its error and publishes it again after a backoff', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store, transport, relay, refusal } = await setup();
    const first = await refusal('26.1');
    await refusal('26.2');
    relay.schedule();
    await until(() => transport.calls.length === 1, 'a publish');
    transport.answer([{ ok: true }, { ok: false, error: new Error('broker nacked') }]);
    await relay.idle();

    const [left, ...more] = await store.outbox.pending(10);
    expect(more).toEqual([]);
    expect(left).toMatchObject({ attempts: 1, lastError: 'broker nacked' });
    expect(left!.eventId).not.toBe(first.id);

    await vi.advanceTimersByTimeAsync(999);
    expect(transport.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => transport.calls.length === 2, 'the retry');
    expect(transport.calls[1]).toEqual([routingKey]);
    transport.answer([{ ok: true }]);
    await relay.idle();
    expect(await store.outbox.countPending()).toBe(0);
  });

  it('backs off longer after each failure in a row', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { transport, relay, refusal } = await setup();
    await refusal('26.1');
    relay.schedule();
    await until(() => transport.calls.length === 1, 'a publish');
    transport.answer([{ ok: false, error: new Error('unroutable') }]);
    await relay.idle();
    await vi.advanceTimersByTimeAsync(1000);
    await until(() => transport.calls.length === 2, 'the first retry');
    transport.answer([{ ok: false, error: new Error('unroutable') }]);
    await relay.idle();

    await vi.advanceTimersByTimeAsync(1999);
    expect(transport.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => transport.calls.length === 3, 'the second retry, 2 s later');
  });

  it('publishes nothing while the transport is not connected, and everything once asked again after it is', async () => {
    const { store, transport, relay, refusal } = await setup();
    await refusal('26.1');
    transport.ready = false;
    relay.schedule();
    await relay.idle();
    expect(transport.calls).toEqual([]);
    expect(await store.outbox.countPending()).toBe(1);

    transport.ready = true;
    relay.schedule();
    await until(() => transport.calls.length === 1, 'a publish');
    transport.answer([{ ok: true }]);
    await relay.idle();
    expect(await store.outbox.countPending()).toBe(0);
  });

  it('publishes nothing after stop', async () => {
    const { transport, relay, refusal } = await setup();
    await refusal('26.1');
    relay.stop();
    relay.schedule();
    await relay.idle();
    expect(transport.calls).toEqual([]);
  });
});
