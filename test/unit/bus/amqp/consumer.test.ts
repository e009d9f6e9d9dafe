/**
 * The AMQP batch consumer against a fake channel, as fedora-messaging tests its consumer
 * (test_nack, test_drop, ...): what the broker is told for each outcome, and when. The fake records
 * every ack and nack; `deliver` is the test's, so it decides the outcomes and when they arrive.
 */
import { EventEmitter } from 'node:events';
import type { Channel, ConsumeMessage, MessageProperties } from 'amqplib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchConsumer } from '../../../../src/bus/amqp/consumer.ts';
import { MessageRejectedError, RejectReason } from '../../../../src/errors.ts';
import { silentLogger } from '../../../../src/log.ts';
import type { Delivery, Outcome } from '../../../../src/pipeline/intake.ts';
import type { RetryPolicy } from '../../../../src/retry.ts';

type Settlement = { verb: 'ack'; tag: number; multiple: boolean } | { verb: 'nack'; tag: number; multiple: boolean; requeue: boolean };

/** The part of an amqplib channel the consumer uses; records how each delivery was settled. */
class FakeChannel extends EventEmitter {
  readonly settled: Settlement[] = [];
  prefetchCount = 0;
  #onMessage: ((msg: ConsumeMessage | null) => void) | undefined;

  async prefetch(count: number): Promise<void> {
    this.prefetchCount = count;
  }
  async consume(_queue: string, onMessage: (msg: ConsumeMessage | null) => void): Promise<{ consumerTag: string }> {
    this.#onMessage = onMessage;
    return { consumerTag: 'ctag-1' };
  }
  ack(msg: ConsumeMessage, allUpTo = false): void {
    this.settled.push({ verb: 'ack', tag: msg.fields.deliveryTag, multiple: allUpTo });
  }
  nack(msg: ConsumeMessage, allUpTo = false, requeue = true): void {
    this.settled.push({ verb: 'nack', tag: msg.fields.deliveryTag, multiple: allUpTo, requeue });
  }
  async cancel(): Promise<void> {}
  async close(): Promise<void> {
    this.emit('close');
  }
  /** The broker sends these, in one turn of the event loop (as a burst arrives in one socket read). */
  push(...msgs: ConsumeMessage[]): void {
    for (const msg of msgs) this.#onMessage!(msg);
  }
  asChannel(): Channel {
    return this as unknown as Channel;
  }
}

const noProperties: MessageProperties = {
  contentType: undefined, contentEncoding: undefined, headers: undefined, deliveryMode: undefined, priority: undefined,
  correlationId: undefined, replyTo: undefined, expiration: undefined, messageId: undefined, timestamp: undefined,
  type: undefined, userId: undefined, appId: undefined, clusterId: undefined,
};

/** A Bodhi message as Fedora Messaging publishes it; `returned` is the quorum queue's x-delivery-count. */
function message(tag: number, o: { returned?: number } = {}): ConsumeMessage {
  return {
    content: Buffer.from(JSON.stringify({ repo: 'f26-updates', success: true })),
    fields: { deliveryTag: tag, redelivered: (o.returned ?? 0) > 0, exchange: 'amq.topic', routingKey: 'org.fedoraproject.prod.bodhi.compose.complete', consumerTag: 'ctag-1' },
    properties: { ...noProperties, contentType: 'application/json', messageId: `msg-${tag}`, headers: o.returned === undefined ? {} : { 'x-delivery-count': o.returned } },
  };
}

const committed = (id: string): Outcome => ({ kind: 'committed', id });
const retryLater = (): Outcome => ({ kind: 'retry-later', error: new Error('database is locked') });
const rejected = (why: string): Outcome => ({ kind: 'rejected', error: new MessageRejectedError(RejectReason.schema, why, 'body.repo') });

/** No pause before a requeue: the tests about backoff use fake timers and a policy of their own. */
const NO_PAUSE: RetryPolicy = { initialMs: 0, maxMs: 0, factor: 1, jitter: 0, maxAttempts: Infinity };

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets the event loop turn until `condition` holds (the consumer works across several turns). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

interface SetupOptions {
  outcomes: (batch: readonly Delivery[]) => Outcome[] | Promise<Outcome[]>;
  deadLetter?: (msg: ConsumeMessage, error: MessageRejectedError) => Promise<boolean>;
  deliveryLimit?: number;
  retry?: RetryPolicy;
}

async function setup(o: SetupOptions) {
  const batches: Delivery[][] = [];
  const deadLettered: Array<{ tag: number; reason: string; message: string }> = [];
  const consumer = new BatchConsumer({
    queue: 'relengd',
    prefetch: 10,
    deliveryLimit: o.deliveryLimit ?? 5,
    deliver: async (batch) => {
      batches.push([...batch]);
      return o.outcomes(batch);
    },
    deadLetter:
      o.deadLetter ??
      (async (msg, error) => {
        deadLettered.push({ tag: msg.fields.deliveryTag, reason: error.reason, message: error.message });
        return true;
      }),
    onCancelled: () => undefined,
    retry: o.retry ?? NO_PAUSE,
    logger: silentLogger(),
  });
  const channel = new FakeChannel();
  await consumer.attach(channel.asChannel());
  return { consumer, channel, batches, deadLettered };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BatchConsumer', () => {
  it('stores deliveries that arrive together as one batch and acks them with one multiple ack, only after the commit', async () => {
    const commit = deferred<Outcome[]>();
    const { consumer, channel, batches } = await setup({ outcomes: () => commit.promise });
    expect(channel.prefetchCount).toBe(10);
    channel.push(message(1), message(2), message(3));
    await until(() => batches.length === 1, 'the batch reaches deliver');
    expect(batches[0]!.map((d) => (d.decoded as { id?: string }).id)).toEqual(['msg-1', 'msg-2', 'msg-3']);
    expect(channel.settled).toEqual([]); // not stored yet: nothing acked

    commit.resolve([committed('msg-1'), committed('msg-2'), committed('msg-3')]);
    await consumer.idle();
    expect(channel.settled).toEqual([{ verb: 'ack', tag: 3, multiple: true }]);
    expect(consumer.stats).toMatchObject({ batches: 1, committed: 3, acked: 3 });
  });

  it.each([
    ['duplicate', { kind: 'duplicate', id: 'msg-1' }],
    ['dropped', { kind: 'dropped', id: 'msg-1', why: "relengd's own topic from outside" }],
  ] as const)('acks a %s delivery: there is nothing to store and nothing to retry', async (_, outcome) => {
    const { consumer, channel, deadLettered } = await setup({ outcomes: () => [outcome] });
    channel.push(message(1));
    await until(() => channel.settled.length > 0, 'a settlement');
    await consumer.idle();
    expect(channel.settled).toEqual([{ verb: 'ack', tag: 1, multiple: true }]);
    expect(deadLettered).toEqual([]);
  });

  it('copies a rejected delivery to the dead-letter exchange with the reason, and acks it once the broker confirmed the copy', async () => {
    const confirm = deferred<boolean>();
    const copies: Array<{ tag: number; reason: string }> = [];
    const { consumer, channel } = await setup({
      outcomes: () => [committed('msg-1'), rejected('body.repo: expected string')],
      deadLetter: (msg, error) => (copies.push({ tag: msg.fields.deliveryTag, reason: error.reason }), confirm.promise),
    });
    channel.push(message(1), message(2));
    await until(() => copies.length === 1, 'the dead-letter copy');
    expect(copies).toEqual([{ tag: 2, reason: 'schema' }]);
    expect(channel.settled).toEqual([]); // the copy is not confirmed yet: the original stays unacked

    confirm.resolve(true);
    await consumer.idle();
    expect(channel.settled).toEqual([{ verb: 'ack', tag: 2, multiple: true }]);
    expect(consumer.stats).toMatchObject({ rejected: 1, deadLettered: 1, acked: 2 });
  });

  it('requeues a rejected delivery whose dead-letter copy the broker did not confirm, acking its neighbour alone', async () => {
    const { consumer, channel } = await setup({ outcomes: () => [committed('msg-1'), rejected('body.repo: expected string')], deadLetter: async () => false });
    channel.push(message(1), message(2));
    await until(() => channel.settled.length === 2, 'both settled');
    await consumer.idle();
    // A multiple ack would take the unconfirmed one with it: each ack is single.
    expect(channel.settled).toEqual([
      { verb: 'ack', tag: 1, multiple: false },
      { verb: 'nack', tag: 2, multiple: false, requeue: true },
    ]);
    expect(consumer.stats).toMatchObject({ deadLetterFailed: 1, requeued: 1 });
  });

  it('requeues retry-later deliveries only after a backoff that grows with the delivery count', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const retry: RetryPolicy = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0, maxAttempts: Infinity };
    const { consumer, channel } = await setup({ outcomes: (batch) => batch.map(() => retryLater()), retry });
    channel.push(message(1, { returned: 1 }), message(2, { returned: 2 }));
    await until(() => vi.getTimerCount() === 1, 'the pause before the requeue');

    // The most-returned delivery sets the pause: 1000 ms * 2^(3 - 1) for its third delivery.
    await vi.advanceTimersByTimeAsync(3999);
    expect(channel.settled).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await consumer.idle();
    expect(channel.settled).toEqual([
      { verb: 'nack', tag: 1, multiple: false, requeue: true },
      { verb: 'nack', tag: 2, multiple: false, requeue: true },
    ]);
  });

  it('requeues the whole batch when deliver throws', async () => {
    const { consumer, channel } = await setup({ outcomes: () => Promise.reject(new Error('store closed')) });
    channel.push(message(1), message(2));
    await until(() => channel.settled.length === 2, 'both settled');
    await consumer.idle();
    expect(channel.settled.map((s) => [s.verb, s.tag])).toEqual([['nack', 1], ['nack', 2]]);
    expect(consumer.stats.retryLater).toBe(2);
  });

  it('dead-letters as poison, with the last error, a delivery still not stored on its last delivery before the limit', async () => {
    const { consumer, channel, batches, deadLettered } = await setup({
      deliveryLimit: 3,
      // As the intake does: a delivery that arrives already rejected is kept as rejected; the rest fail to store.
      outcomes: (batch) => batch.map((d) => (d.decoded instanceof MessageRejectedError ? { kind: 'rejected', error: d.decoded } : retryLater())),
    });
    channel.push(message(1, { returned: 3 }), message(2, { returned: 1 }));
    await until(() => channel.settled.length === 2, 'both settled');
    await consumer.idle();

    expect(batches).toHaveLength(2);
    expect(batches[1]!.map((d) => (d.decoded as MessageRejectedError).reason)).toEqual(['poison']);
    expect(deadLettered).toEqual([{ tag: 1, reason: 'poison', message: 'delivered 4 times without being stored (delivery limit 3); last error: database is locked' }]);
    // The poisoned one is done with; the other has deliveries left and is requeued.
    expect(channel.settled).toEqual([
      { verb: 'ack', tag: 1, multiple: false },
      { verb: 'nack', tag: 2, multiple: false, requeue: true },
    ]);
    expect(consumer.stats).toMatchObject({ poison: 1, deadLettered: 1, requeued: 1 });
  });

  it('settles nothing on a channel that closed and was replaced while its batch was being stored: the broker redelivers', async () => {
    const commit = deferred<Outcome[]>();
    let calls = 0;
    const { consumer, channel, batches } = await setup({ outcomes: (batch) => (++calls === 1 ? commit.promise : batch.map((_, i) => committed(`again-${i}`))) });
    channel.push(message(1), message(2));
    await until(() => batches.length === 1, 'the batch reaches deliver');

    channel.emit('close');
    const next = new FakeChannel();
    await consumer.attach(next.asChannel()); // reconnected: delivery tags of the old channel mean nothing here
    commit.resolve([committed('msg-1'), committed('msg-2')]);
    await consumer.idle();

    expect(channel.settled).toEqual([]);
    expect(next.settled).toEqual([]);
    expect(consumer.stats.unsettled).toBe(2);

    // The new channel's deliveries are settled on it as usual.
    next.push(message(1, { returned: 1 }));
    await until(() => next.settled.length === 1, 'the redelivery settled');
    expect(next.settled).toEqual([{ verb: 'ack', tag: 1, multiple: true }]);
  });

  it('ignores deliveries that arrive on a channel it no longer consumes from', async () => {
    const { consumer, channel, batches } = await setup({ outcomes: (batch) => batch.map(() => committed('x')) });
    const next = new FakeChannel();
    await consumer.attach(next.asChannel());
    channel.push(message(7));
    await consumer.idle();
    expect(batches).toEqual([]);
    expect(channel.settled).toEqual([]);
  });
});
