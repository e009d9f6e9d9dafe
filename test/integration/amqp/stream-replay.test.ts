/**
 * `relengd replay --from-stream --since T`: the history of the bus that relengd keeps in a RabbitMQ
 * stream is read back from a point in time, and only messages not in the store are processed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { declareTopology } from '../../../src/bus/amqp/index.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { publishFedora } from '../../helpers/fedora-wire.ts';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { amqpUrl, deleteTopology, plainConnection, testNames, titled, brokerMissingReason, type TestNames } from './broker.ts';

describe.skipIf(brokerMissingReason !== null)(titled('replay from a RabbitMQ stream'), () => {
  let names: TestNames;
  const stream = () => `${names.queue}.history`;
  beforeEach(() => {
    names = testNames('stream');
  });
  afterEach(async () => {
    await deleteTopology(names);
    const connection = await connect(amqpUrl);
    const channel = await connection.createChannel();
    await channel.deleteQueue(stream()).catch(() => undefined);
    await connection.close();
  });

  it('reads the stream from --since by publish time, and a second read finds everything seen', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const configFile = join(dir, 'relengd.yaml');
    const yaml = testConfigYaml(dir, `bus: { transport: amqp, amqp: { url: "${amqpUrl}", queue: ${names.queue}, deadLetter: ${names.deadLetter}, stream: ${stream()} } }`);
    writeFileSync(configFile, yaml.replace('topicPrefix: org.fedoraproject.prod', `topicPrefix: ${names.prefix}`));
    const { connection, channel } = await plainConnection();
    try {
      await declareTopology(channel, { queue: names.queue, deadLetter: names.deadLetter, deliveryLimit: 5, bindingKeys: [topic], stream: { name: stream(), maxAge: '1h' } });
      const message = (i: number, sentAt: string) => ({ topic, id: `s-${i}`, sentAt, body: { repo: 'f41-updates', success: true, n: i } });
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, '+00:00');
      const recent = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, '+00:00');
      await publishFedora(channel, [0, 1, 2].map((i) => message(i, hourAgo)));
      await publishFedora(channel, [3, 4, 5, 6, 7].map((i) => message(i, recent)));
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    const first = await runCli(['--config', configFile, 'replay', '--from-stream', '--since', since, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ committed: 5, duplicate: 0 });
    const again = await runCli(['--config', configFile, 'replay', '--from-stream', '--since', since, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ committed: 0, duplicate: 5 });

    const after = Store.open(join(dir, 'relengd.db'));
    expect(after.events.query({ order: 'asc' }).map((e) => e.envelope.id)).toEqual(['s-3', 's-4', 's-5', 's-6', 's-7']);
    after.close();
  });

  it('says what is missing when no stream is configured', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'relengd.yaml'), testConfigYaml(dir));
    const result = await runCli(['--config', join(dir, 'relengd.yaml'), 'replay', '--from-stream', '--since', '1h']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('bus.amqp.stream');
  });
});
