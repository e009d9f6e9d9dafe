/**
 * The daemon on RabbitMQ: a Bodhi message published the way Fedora Messaging publishes it comes
 * in, relengd decides, and its events go out to the broker for anyone bound to them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConsumeMessage } from 'amqplib';
import { startDaemon, type Daemon } from '../../../src/cli/daemon.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { silentLogger } from '../../../src/log.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { publishFedora } from '../../helpers/fedora-wire.ts';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { amqpUrl, brokerMissingReason, deleteTopology, plainConnection, testNames, titled, type TestNames } from './broker.ts';

describe.skipIf(brokerMissingReason !== null)(titled('relengd start on RabbitMQ'), () => {
  let names: TestNames;
  let daemon: Daemon | undefined;
  beforeEach(() => {
    names = testNames('daemon');
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    await deleteTopology(names);
  });

  function config(extra = '') {
    const yaml = testConfigYaml(tempDir(), `bus: { transport: amqp, amqp: { url: "${amqpUrl}", queue: ${names.queue}, deadLetter: ${names.deadLetter} } }\n${extra}`);
    return parseConfig(yaml.replace('topicPrefix: org.fedoraproject.prod', `topicPrefix: ${names.prefix}`), {});
  }

  async function watch(pattern: string) {
    const { connection, channel } = await plainConnection();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'amq.topic', pattern);
    const received: ConsumeMessage[] = [];
    await channel.consume(queue, (m) => m && received.push(m), { noAck: true });
    return { received, channel, close: () => connection.close() };
  }

  it('consumes a Bodhi push and publishes its compose requests with Fedora Messaging headers', { timeout: 30_000 }, async () => {
    const watcher = await watch(`${names.prefix}.relengd.ostree.compose.requested`);
    try {
      daemon = await startDaemon({ config: config(), logger: silentLogger(), serveHttp: false });
      await publishFedora(watcher.channel, [{ topic: `${names.prefix}.bodhi.compose.complete`, id: 'push-1', body: { repo: 'f26-updates', success: true, ctype: 'rpm', agent: 'bodhi' } }]);
      await vi.waitFor(() => expect(watcher.received).toHaveLength(2), { timeout: 15_000, interval: 50 });
      const [first] = watcher.received;
      expect(first!.properties.headers).toMatchObject({ fedora_messaging_schema: 'relengd.ostree.compose.requested.v1', fedora_messaging_severity: 20, cloudEvents_correlationid: 'push-1' });
      expect(JSON.parse(first!.content.toString())).toMatchObject({ ref: expect.stringMatching(/^fedora\/26\/(x86_64|aarch64)\/updates\/atomic-host$/), causes: [{ id: 'push-1' }] });
      await vi.waitFor(async () => expect(await daemon!.store.outbox.countPending()).toBe(0), { timeout: 10_000, interval: 50 });
    } finally {
      await watcher.close();
    }
  });

  it('relengd publish sends a message file to the broker, where the daemon consumes it; an unbound topic is an error', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const c = config();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, `topicPrefix: ${names.prefix}\nbus: { transport: amqp, amqp: { url: "${amqpUrl}", queue: ${names.queue}, deadLetter: ${names.deadLetter} } }\nstore: { path: ${join(dir, 'other.db')} }\n`);
    daemon = await startDaemon({ config: c, logger: silentLogger(), serveHttp: false });
    const file = join(dir, 'message.json');
    writeFileSync(file, JSON.stringify({ topic: `${names.prefix}.bodhi.compose.complete`, id: 'from-cli', headers: { 'sent-at': '2026-11-26T10:00:00+00:00' }, body: { repo: 'f26-updates', success: true } }));
    const sent = await runCli(['--config', configFile, 'publish', '--file', file, '--json']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toEqual({ status: 'published', id: 'from-cli', via: 'amqp' });
    await vi.waitFor(async () => expect((await daemon!.store.events.get('from-cli'))?.envelope).toMatchObject({ topic: 'bodhi.compose.complete', time: '2026-11-26T10:00:00.000Z' }), { timeout: 15_000, interval: 50 });

    const unbound = await runCli(['--config', configFile, 'publish', '--topic', `${names.prefix}.nobody.listens`, '--data', '{}']);
    expect(unbound.code).toBe(1);
    expect(unbound.stderr).toContain('no queue is bound');
  });

  it('in a dry run stores and decides, but publishes nothing and runs no job', { timeout: 30_000 }, async () => {
    const watcher = await watch(`${names.prefix}.relengd.#`);
    try {
      daemon = await startDaemon({ config: config('dryRun: true'), logger: silentLogger(), serveHttp: false });
      await publishFedora(watcher.channel, [{ topic: `${names.prefix}.bodhi.compose.complete`, id: 'push-2', body: { repo: 'f26-updates', success: true } }]);
      await vi.waitFor(async () => expect(await daemon!.store.jobs.list({ kind: 'compose' })).toHaveLength(2), { timeout: 15_000, interval: 50 });
      await daemon.dispatcher.drain();
      expect((await daemon.store.jobs.list()).every((j) => j.state === 'queued')).toBe(true);
      expect(await daemon.store.outbox.countPending()).toBe(2);
      expect(watcher.received).toEqual([]);
    } finally {
      await watcher.close();
    }
  });
});
