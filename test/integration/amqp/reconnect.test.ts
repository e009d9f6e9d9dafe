/**
 * Losing the broker in the middle of a stream: the connection closed by an operator, and the
 * broker application restarted. Consumption resumes by itself, every message is stored exactly
 * once, and publishes during the outage come back failed instead of hanging or vanishing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliverBatch, PublishItem, PublishResult } from '../../../src/bus/transport.ts';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import { sleep } from '../../../src/retry.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { brokerLock, deleteTopology, plainConnection, probeRabbitmqctl, rabbitmqctl, readyCount, testNames, titled, type TestNames } from './broker.ts';
import { publishFedora, type FedoraMessage } from '../../helpers/fedora-wire.ts';
import { startConsuming, storedIds, type Consuming } from './harness.ts';

const missing = await probeRabbitmqctl();

/** Processing that takes a while, so that the broker goes away mid-stream. */
function slowly(ms: number) {
  return (accept: DeliverBatch): DeliverBatch =>
    async (batch) => {
      await sleep(ms);
      return accept(batch);
    };
}

/** The broker's process id of the connection that presented this `connection_name` (3.10's close_connection takes the pid). */
async function brokerConnectionPid(connectionName: string): Promise<string> {
  const out = await rabbitmqctl('-q', 'list_connections', 'pid', 'client_properties', '--no-table-headers');
  const line = out.split('\n').find((l) => l.includes(`{"connection_name","${connectionName}"}`));
  if (!line) throw new Error(`no connection named ${connectionName} in:\n${out}`);
  return line.split('\t')[0]!;
}

describe.skipIf(missing !== null)(titled('losing RabbitMQ mid-stream', missing), () => {
  let names: TestNames;
  let consuming: Consuming | undefined;
  let release: (() => void) | undefined;
  beforeEach(() => {
    names = testNames('reconnect');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    await deleteTopology(names);
    release?.();
    release = undefined;
  });

  function stream(from: number, to: number): FedoraMessage[] {
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

  it('resumes consuming after rabbitmqctl close_connection and stores each of 2,000 messages once', async () => {
    release = await brokerLock('shared');
    consuming = await startConsuming({ names, dir: tempDir(), topics: ['bodhi.compose.complete'], prefetch: 20, wrap: slowly(15) });
    const transport = consuming.transport;
    const published = stream(0, 2000);
    const { connection, channel } = await plainConnection();
    try {
      await publishFedora(channel, published);
      await vi.waitFor(() => expect(transport.stats().consumer.committed).toBeGreaterThanOrEqual(300), { timeout: 20_000, interval: 10 });

      await rabbitmqctl('close_connection', await brokerConnectionPid(consuming.connectionName), 'relengd test: closing the connection mid-stream');
      await vi.waitFor(() => expect(transport.stats().reconnects).toBe(1), { timeout: 20_000, interval: 10 });
      const committedAtLoss = transport.stats().consumer.committed;
      expect(committedAtLoss).toBeLessThan(2000);

      await vi.waitFor(async () => expect(storedIds(consuming!.store).length).toBe(2000), { timeout: 60_000, interval: 100 });
      await vi.waitFor(async () => expect(await readyCount(channel, names.queue)).toBe(0), { timeout: 10_000, interval: 50 });
      expect(transport.isReady()).toBe(true);
      expectStoredExactlyOnce(consuming, published);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }, 120_000);

  it('resumes consuming after a broker restart, stores each of 2,000 messages once, and fails publishes made during the outage', async () => {
    // Restarting the broker pulls it from under every test; wait until no other test uses it.
    release = await brokerLock('exclusive');
    consuming = await startConsuming({ names, dir: tempDir(), topics: ['bodhi.compose.complete', 'relengd.compose.finished'], prefetch: 20, wrap: slowly(15) });
    const transport = consuming.transport;
    const before = stream(0, 1000);
    const after = stream(1000, 2000);
    let stopped = false;
    const { connection, channel } = await plainConnection();
    await publishFedora(channel, before);
    await connection.close();

    // relengd keeps publishing (the outbox) through the outage.
    const outcomes: Array<{ id: string; result: PublishResult }> = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 0; publishing; n++) {
        const items = Array.from({ length: 10 }, (_, k) => composeFinished(`p-${names.suffix}-${n}-${k}`));
        const results = await transport.publish(items);
        results.forEach((result, k) => outcomes.push({ id: items[k]!.envelope.id, result }));
        await sleep(20);
      }
    })();

    try {
      await vi.waitFor(() => expect(transport.stats().consumer.committed).toBeGreaterThanOrEqual(200), { timeout: 20_000, interval: 10 });
      await rabbitmqctl('stop_app');
      stopped = true;
      await vi.waitFor(() => expect(transport.isReady()).toBe(false), { timeout: 10_000, interval: 10 });
      const committedAtLoss = transport.stats().consumer.committed;
      expect(committedAtLoss).toBeLessThan(1000);
      const duringOutage = await transport.publish([composeFinished(`outage-${names.suffix}`)]);
      expect(duringOutage[0]!.ok).toBe(false);
      await sleep(1000); // an outage, not a blip: reconnect attempts fail meanwhile
    } finally {
      if (stopped) await rabbitmqctl('start_app');
    }

    await vi.waitFor(() => expect(transport.isReady()).toBe(true), { timeout: 60_000, interval: 50 });
    const second = await plainConnection();
    try {
      await publishFedora(second.channel, after);
      await vi.waitFor(() => expect(storedIds(consuming!.store).filter((id) => id.startsWith('m-')).length).toBe(2000), { timeout: 60_000, interval: 100 });
      publishing = false;
      await publisher; // every publish call returned: no confirm hung
      const ok = outcomes.filter((o) => o.result.ok).map((o) => o.id);
      const failed = outcomes.filter((o) => !o.result.ok);
      expect(failed.length).toBeGreaterThan(0);
      expect(ok.length).toBeGreaterThan(0);
      // What the broker confirmed came back through the queue: confirmed means not lost.
      await vi.waitFor(() => {
        const stored = new Set(storedIds(consuming!.store));
        expect(ok.filter((id) => !stored.has(id))).toEqual([]);
      }, { timeout: 20_000, interval: 100 });
      await vi.waitFor(async () => expect(await readyCount(second.channel, names.queue)).toBe(0), { timeout: 10_000, interval: 50 });
      expectStoredExactlyOnce(consuming, [...before, ...after]);
      expect(transport.stats().reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      publishing = false;
      await publisher;
      await second.connection.close().catch(() => undefined);
    }
  }, 180_000);

  function composeFinished(id: string): PublishItem {
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
