/**
 * A cluster that refuses relengd (permissions, an untrusted certificate) fails start at once, not
 * retriable and saying why, instead of being retried or restarted for ever (consumer-crash.test.ts:
 * what is restarted).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { KafkaTransportError } from '../../../src/bus/kafka/errors.ts';
import { Store } from '../../../src/store/store.ts';
import { KafkaApi, kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { produceBridged, startConsuming, testClient, testNames, testProducer, type TestNames } from './harness.ts';

/** Kafka's error code for a group the principal may not use. */
const GROUP_AUTHORIZATION_FAILED = 30;

const opensslPresent = spawnSync('openssl', ['version']).status === 0;
// CI installs openssl (.ci/run): there a missing one is a failure, not a skip.
if (!opensslPresent && process.env.CI === 'true') throw new Error('CI=true but openssl is not installed; the TLS refusal test needs it to make a certificate');

/** Starts relengd's transport as the daemon does; resolves with why start failed (null: it started, and was stopped again). */
async function startFailure(o: { brokers: readonly string[]; names: TestNames; extraConfig?: string }): Promise<unknown> {
  const dir = tempDir();
  const store = Store.open(join(dir, 'relengd.db'));
  try {
    return await startConsuming({ ...o, dir, store, patterns: ['bodhi.compose.complete'] }).then(
      async (started) => started.transport.stop().then(() => null),
      (error: unknown) => error,
    );
  } finally {
    store.close();
  }
}

describe.skipIf(kafkaMissingReason !== null)(titled('a Kafka cluster that refuses the consumer group'), () => {
  let cluster: MockCluster;
  let producer: Producer;

  beforeAll(async () => {
    cluster = await startMockCluster();
    producer = await testProducer(testClient(cluster.brokers));
  });
  afterAll(async () => {
    await producer?.disconnect();
    await cluster?.stop();
  });

  it('fails start, not retriable and saying why (GROUP_AUTHORIZATION_FAILED on joining)', { timeout: 60_000 }, async () => {
    const names = testNames('refused');
    // The topic exists: relengd subscribes to the topics it finds.
    await produceBridged(producer, [{ topic: `${names.prefix}.bodhi.compose.complete`, id: `push-${names.suffix}`, body: { repo: 'f26-updates', success: true } }]);
    await cluster.failRequests(KafkaApi.joinGroup, [GROUP_AUTHORIZATION_FAILED]);

    const failed = await startFailure({ brokers: cluster.brokers, names });
    expect(failed).toBeInstanceOf(KafkaTransportError);
    expect(failed).toMatchObject({ retriable: false, message: `the Kafka cluster refused the consumer of group ${names.groupId}: Not authorized to access group: Group authorization failed` });
  });
});

describe.skipIf(!opensslPresent)(`a Kafka listener whose TLS certificate relengd does not trust${opensslPresent ? '' : ' (skipped: openssl is not installed)'}`, () => {
  let server: Server;
  let broker: string;

  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1: nothing in the system's CAs vouches for it.
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
    server = createServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (socket) => socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    broker = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.close();
  });

  it('fails start, not retriable and saying why, instead of retrying the connection for ever', { timeout: 60_000 }, async () => {
    const failed = await startFailure({ brokers: [broker], names: testNames('untrusted'), extraConfig: 'bus: { kafka: { tls: {} } }' });
    expect(failed).toBeInstanceOf(KafkaTransportError);
    expect(failed).toMatchObject({ retriable: false });
    expect((failed as Error).message).toMatch(new RegExp(`^the Kafka cluster at ${broker} refused relengd: .*self[- ]signed certificate`));
  });
});
