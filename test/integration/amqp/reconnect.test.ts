/**
 * Losing the broker in the middle of a stream: the connection closed by an operator, and the
 * broker application restarted. Consumption resumes by itself, every message is stored exactly
 * once, and publishes during the outage come back failed instead of hanging or vanishing.
 *
 * Done to a throwaway node (private-node.ts), never to the shared broker. The fault is injected at
 * a known point: the consumer is held with a stored but unacked batch in hand (holdAfter) until the
 * fault is in place, so nothing here races the broker.
 */
import { describe, expect, it, vi } from 'vitest';
import type { PublishItem, PublishResult } from '../../../src/bus/transport.ts';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import { sleep } from '../../../src/retry.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { plainConnection, readyCount, testNames, titled, type TestNames } from './broker.ts';
import { publishFedora, type FedoraMessage } from '../../helpers/fedora-wire.ts';
import { holdAfter, startConsuming, storedIds, type Consuming } from './harness.ts';
import { closeConnectionNamed, privateNodeForFile } from './private-node.ts';

const { node, missing } = await privateNodeForFile();

describe.skipIf(node === null)(titled('losing RabbitMQ mid-stream', missing), () => {
  const url = node?.url ?? ''; // collected even when skipped

  function stream(names: TestNames, from: number, to: number): FedoraMessage[] {
    return Array.from({ length: to - from }, (_, k) => ({
      topic: `${names.prefix}.bodhi.compose.complete`,
      id: `m-${names.suffix}-${from + k}`,
      body: { repo: `f${from + k}-updates`, success: true, ctype: 'rpm', agent: 'bodhi' },
    }));
  }

  /** Stored rows == distinct published ids: nothing lost, nothing stored twice. */
  function expectStoredExactlyOnce(c: Consuming, published: FedoraMessage[]): void {
    const ids = storedIds(c.store).filter((id) => id.startsWith('m-'));
    expect(ids).toHaveLength(published.length);
    expect(new Set(ids)).toEqual(new Set(published.map((m) => m.id)));
  }

  /**
   * The batch held when the connection went was stored but not acked: it was left unsettled and
   * came back from the broker, where the inbox answered duplicate.
   */
  function expectHeldBatchRedelivered(c: Consuming, held: string[]): void {
    expect(held.length).toBeGreaterThan(0);
    const stats = c.transport.stats().consumer;
    expect(stats.unsettled).toBeGreaterThanOrEqual(held.length);
    expect(stats.duplicate).toBeGreaterThanOrEqual(held.length);
  }

  it('resumes consuming after rabbitmqctl close_connection and stores each of 2,000 messages once', async () => {
    const names = testNames('reconnect');
    const hold = holdAfter(300);
    const consuming = await startConsuming({ names, url, dir: tempDir(), topics: ['bodhi.compose.complete'], prefetch: 20, wrap: hold.wrap });
    const transport = consuming.transport;
    const published = stream(names, 0, 2000);
    const { connection, channel } = await plainConnection(url);
    try {
      await publishFedora(channel, published);
      const held = await hold.held;

      await closeConnectionNamed(node!, consuming.connectionName, 'relengd test: closing the connection mid-stream');
      await vi.waitFor(() => expect(transport.stats().reconnects).toBe(1), { timeout: 20_000, interval: 10 });
      hold.release();

      await vi.waitFor(async () => expect(storedIds(consuming.store).length).toBe(2000), { timeout: 60_000, interval: 100 });
      await vi.waitFor(async () => expect(await readyCount(channel, names.queue)).toBe(0), { timeout: 10_000, interval: 50 });
      expect(transport.isReady()).toBe(true);
      expectStoredExactlyOnce(consuming, published);
      expectHeldBatchRedelivered(consuming, held);
    } finally {
      hold.release();
      await connection.close().catch(() => undefined);
      await consuming.close();
    }
  }, 120_000);

  it('resumes consuming after a broker restart, stores each of 2,000 messages once, and fails publishes made during the outage', async () => {
    const names = testNames('restart');
    const hold = holdAfter(200);
    const log = captureLogger('warn');
    const consuming = await startConsuming({ names, url, dir: tempDir(), topics: ['bodhi.compose.complete'], prefetch: 20, wrap: hold.wrap, logger: log.logger });
    const transport = consuming.transport;
    const before = stream(names, 0, 1000);
    const after = stream(names, 1000, 2000);

    // What relengd publishes lands in a queue of the test's own: a confirmed publish must be there.
    const published = `${names.queue}.published`;
    const first = await plainConnection(url);
    await first.channel.assertQueue(published, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await first.channel.bindQueue(published, 'amq.topic', `${names.prefix}.relengd.compose.finished`);
    await publishFedora(first.channel, before);
    await first.connection.close();

    // relengd keeps publishing (the outbox) through the outage. The pacing is only there to not
    // spin; no assertion depends on how many of these publishes fail or succeed.
    const outcomes: Array<{ id: string; result: PublishResult }> = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 0; publishing; n++) {
        const items = Array.from({ length: 10 }, (_, k) => composeFinished(names, `p-${names.suffix}-${n}-${k}`));
        const results = await transport.publish(items);
        results.forEach((result, k) => outcomes.push({ id: items[k]!.envelope.id, result }));
        await sleep(20);
      }
    })();

    let second: Awaited<ReturnType<typeof plainConnection>> | undefined;
    try {
      const held = await hold.held;
      let stopped = false;
      try {
        await node!.ctl('stop_app');
        stopped = true;
        await vi.waitFor(() => expect(transport.stats().connected).toBe(false), { timeout: 10_000, interval: 10 });
        const duringOutage = await transport.publish([composeFinished(names, `outage-${names.suffix}`)]);
        expect(duringOutage[0]!.ok).toBe(false);
        // An outage, not a blip: the transport has tried to reconnect, and failed.
        await vi.waitFor(() => expect(log.records.some((r) => r.msg === 'reconnect failed; retrying')).toBe(true), { timeout: 10_000, interval: 10 });
      } finally {
        if (stopped) await node!.ctl('start_app');
      }

      await vi.waitFor(() => expect(transport.isReady()).toBe(true), { timeout: 60_000, interval: 50 });
      expect(transport.stats().reconnects).toBe(1);
      hold.release();
      const recovered = composeFinished(names, `recovered-${names.suffix}`);
      expect(await transport.publish([recovered])).toEqual([{ ok: true }]);

      second = await plainConnection(url);
      await publishFedora(second.channel, after);
      await vi.waitFor(() => expect(storedIds(consuming.store).filter((id) => id.startsWith('m-')).length).toBe(2000), { timeout: 60_000, interval: 100 });
      publishing = false;
      await publisher; // every publish call returned: no confirm hung

      // What the broker confirmed is in the queue bound to it: confirmed means not lost.
      const confirmed = [...outcomes.filter((o) => o.result.ok).map((o) => o.id), recovered.envelope.id];
      const arrived = new Set<string>();
      await second.channel.consume(published, (m) => m && arrived.add(String(m.properties.messageId)), { noAck: true });
      await vi.waitFor(() => expect(confirmed.filter((id) => !arrived.has(id))).toEqual([]), { timeout: 20_000, interval: 100 });

      await vi.waitFor(async () => expect(await readyCount(second!.channel, names.queue)).toBe(0), { timeout: 10_000, interval: 50 });
      expectStoredExactlyOnce(consuming, [...before, ...after]);
      expectHeldBatchRedelivered(consuming, held);
    } finally {
      publishing = false;
      hold.release();
      await publisher;
      await second?.connection.close().catch(() => undefined);
      await consuming.close();
    }
  }, 180_000);

  function composeFinished(names: TestNames, id: string): PublishItem {
    const routingKey = `${names.prefix}.relengd.compose.finished`;
    const envelope = makeEnvelope(
      {
        topic: routingKey,
        id,
        data: { composeId: id, stream: 's', group: 'g', arch: 'x86_64', ref: 'fedora/26/x86_64/atomic-host', commit: null, version: null, status: 'DOOMED', artifacts: [] },
      },
      { prefix: names.prefix, receivedAt: '2024-06-21T12:00:00.000Z' },
    );
    return { envelope, routingKey };
  }
});
