/**
 * The trust boundary on a real RabbitMQ, as an outsider with a plain broker account (`guest`) would
 * try it: a forged compose.finished and a forged promotion, a non-JSON body, a body with a
 * byte-order mark, a squatted derived id, another instance's own event. Each fails safely with its
 * reason, the next valid message is still processed, and a restart on the same store starts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDaemon, type Daemon } from '../../../src/cli/daemon.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { emittedEventId } from '../../../src/events/ids.ts';
import { silentLogger } from '../../../src/log.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { publishFedora } from '../../helpers/fedora-wire.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { amqpUrl, brokerMissingReason, deleteTopology, plainConnection, readyCount, testNames, titled, type TestNames } from './broker.ts';

const BODHI = { repo: 'f26-updates', success: true, ctype: 'rpm', agent: 'bodhi' };

describe.skipIf(brokerMissingReason !== null)(titled('the trust boundary on RabbitMQ'), () => {
  let names: TestNames;
  let daemon: Daemon | undefined;
  let dir: string;
  beforeEach(() => {
    names = testNames('trust');
    dir = tempDir();
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    await deleteTopology(names);
  });

  function config(extra = '') {
    const yaml = testConfigYaml(dir, `bus: { transport: amqp, amqp: { url: "${amqpUrl}", queue: ${names.queue}, deadLetter: ${names.deadLetter}, bindings: ["${names.prefix}.relengd.compose.finished"] } }
publishers:
  relengd.release.promote.requested: [releng]
${extra}`);
    return parseConfig(yaml.replace('topicPrefix: org.fedoraproject.prod', `topicPrefix: ${names.prefix}`), {});
  }

  /** Waits until the queue is empty and nothing is in flight: every message published so far was settled. */
  async function settled(channel: Parameters<typeof readyCount>[0], expected: number): Promise<void> {
    await vi.waitFor(() => {
      const s = (daemon!.transport as unknown as { stats(): { consumer: { acked: number } } }).stats().consumer;
      expect(s.acked).toBeGreaterThanOrEqual(expected);
    }, { timeout: 15_000, interval: 50 });
    expect(await readyCount(channel, names.queue)).toBe(0);
  }

  it('refuses a forged promotion from a plain broker account and drops a forged compose.finished; the next Bodhi push still composes', { timeout: 60_000 }, async () => {
    daemon = await startDaemon({ config: config(), logger: silentLogger(), serveHttp: false });
    const { connection, channel } = await plainConnection();
    try {
      const forgedDone = { composeId: 'c1', stream: 'f26-atomic-host-x86_64', group: 'f26-atomic-host', arch: 'x86_64', ref: 'attacker/side', commit: 'a'.repeat(64), version: '26.1', status: 'FINISHED', artifacts: [] };
      await publishFedora(channel, [
        { topic: `${names.prefix}.relengd.compose.finished`, id: 'forged-done', body: forgedDone },
        { topic: `${names.prefix}.relengd.release.promote.requested`, id: 'forged-promote', body: { group: 'f26-atomic-host', version: '26.1', force: true, requestedBy: 'releng' } },
        { topic: `${names.prefix}.relengd.release.promote.requested`, id: 'forged-promote-2', userId: 'guest', body: { group: 'f26-atomic-host', version: '26.1', force: true, requestedBy: 'releng' } },
      ]);
      await settled(channel, 3);
      expect(await daemon.store.events.get('forged-done')).toBeUndefined();
      expect(daemon.intake.droppedOwnTopics().get('amqp')).toBe(1);
      expect(await daemon.store.events.get('forged-promote')).toBeUndefined();
      expect(await daemon.store.events.get('forged-promote-2')).toBeUndefined();
      const rejected = await daemon.store.rejected.list();
      expect(rejected.map((r) => [r.messageId, r.reason])).toEqual(expect.arrayContaining([['forged-promote', 'unauthorized'], ['forged-promote-2', 'unauthorized']]));
      expect(rejected.find((r) => r.messageId === 'forged-promote-2')?.detail).toContain('sender was guest');
      expect(await daemon.store.jobs.list({ kind: 'promote' })).toEqual([]);
      // The dead-letter queue got the refused commands, not the dropped own event.
      expect(await readyCount(channel, names.deadLetter)).toBe(2);

      await publishFedora(channel, [{ topic: `${names.prefix}.bodhi.compose.complete`, id: 'push-after', body: BODHI }]);
      await vi.waitFor(async () => expect(await daemon!.store.jobs.list({ kind: 'compose' })).toHaveLength(2), { timeout: 15_000, interval: 50 });
    } finally {
      await connection.close();
    }
  });

  it('dead-letters a non-JSON body, stores a body with a byte-order mark without it, refuses a squatted id; the pipeline goes on and a restart starts', { timeout: 60_000 }, async () => {
    daemon = await startDaemon({ config: config(), logger: silentLogger(), serveHttp: false });
    const { connection, channel } = await plainConnection();
    try {
      const push = 'push-squatted';
      const squatted = emittedEventId(push, 'updates-mashed', 'f26-atomic-host-x86_64');
      const json = JSON.stringify(BODHI);
      channel.publish('amq.topic', `${names.prefix}.bodhi.compose.complete`, Buffer.from('hello'), { contentType: 'text/plain', messageId: 'plain-1' });
      channel.publish('amq.topic', `${names.prefix}.bodhi.compose.complete`, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]), { contentType: 'application/json', messageId: 'bom-1' });
      channel.publish('amq.topic', `${names.prefix}.bodhi.compose.complete`, Buffer.from(JSON.stringify({ repo: 'other' })), { contentType: 'application/json', messageId: squatted });
      await channel.waitForConfirms();
      await settled(channel, 3);
      expect((await daemon.store.rejected.list()).map((r) => [r.messageId, r.reason])).toEqual(expect.arrayContaining([['plain-1', 'media-type'], [squatted, 'reserved-id']]));
      expect((await daemon.store.events.get('bom-1'))?.envelope.data).toMatchObject(BODHI);
      expect(Buffer.from((await daemon.store.events.raw('bom-1'))!).toString('utf8')).toBe(json);

      await publishFedora(channel, [{ topic: `${names.prefix}.bodhi.compose.complete`, id: push, body: BODHI }]);
      await vi.waitFor(async () => expect((await daemon!.store.events.get(squatted))?.envelope.topic).toBe('relengd.ostree.compose.requested'), { timeout: 15_000, interval: 50 });

      await daemon.stop();
      daemon = await startDaemon({ config: config(), logger: silentLogger(), serveHttp: false });
      expect(daemon.transport.isReady()).toBe(true);
      expect(await daemon.store.events.query({ dispatchState: 'pending' })).toEqual([]);
    } finally {
      await connection.close();
    }
  });
});
