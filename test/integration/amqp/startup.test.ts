/**
 * Starting: what a retry can fix is retried, what it cannot fix fails `start` at once with a typed
 * error naming the cause, so the daemon exits with a message instead of looping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AmqpError, AmqpTransport } from '../../../src/bus/amqp/index.ts';
import type { AmqpConfig } from '../../../src/config/index.ts';
import { silentLogger, type Logger } from '../../../src/log.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { amqpUrl, brokerMissingReason, deleteTopology, plainConnection, testNames, titled, type TestNames } from './broker.ts';

const quick = { initialMs: 10, maxMs: 50, factor: 2, jitter: 0, maxAttempts: 3 };

describe.skipIf(brokerMissingReason !== null)(titled('starting the AMQP transport'), () => {
  let names: TestNames;
  beforeEach(() => {
    names = testNames('startup');
  });
  afterEach(async () => {
    await deleteTopology(names);
  });

  function transport(config: Partial<AmqpConfig>, logger: Logger = silentLogger()): AmqpTransport {
    return new AmqpTransport({
      config: { url: amqpUrl, queue: names.queue, deadLetter: names.deadLetter, prefetch: 10, bindings: [], deliveryLimit: 3, heartbeatSeconds: 5, streamMaxAge: '7D', ...config },
      topicPrefix: names.prefix,
      bindingKeys: [],
      logger,
      retry: quick,
    });
  }

  async function startError(t: AmqpTransport): Promise<AmqpError> {
    try {
      await t.start(async (batch) => batch.map(() => ({ kind: 'retry-later', error: new Error('unused') })));
    } catch (error) {
      await t.stop();
      if (error instanceof AmqpError) return error;
      throw error;
    }
    await t.stop();
    throw new Error('expected start to fail');
  }

  it('fails at once, not retriable, when the queue exists with other arguments (406)', async () => {
    const { connection, channel } = await plainConnection();
    await channel.assertQueue(names.queue, { durable: true });
    await connection.close();
    const error = await startError(transport({}));
    expect(error).toMatchObject({ code: 406, retriable: false });
    expect(error.message).toMatch(/PRECONDITION_FAILED - inequivalent arg/);
  });

  it('fails at once, not retriable, when the broker refuses the credentials (403)', async () => {
    const url = new URL(amqpUrl);
    url.password = 'not-the-password';
    const error = await startError(transport({ url: url.toString() }));
    expect(error).toMatchObject({ code: 403, retriable: false });
    expect(error.message).not.toContain('not-the-password');
  });

  it('retries an unreachable broker, then fails with a retriable error', async () => {
    const log = captureLogger('warn');
    const error = await startError(transport({ url: 'amqp://guest:guest@127.0.0.1:1' }, log.logger));
    expect(error.retriable).toBe(true);
    expect(error.message).toMatch(/cannot connect to amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1.*ECONNREFUSED/);
    // Three attempts (maxAttempts), with the policy's backoff between them.
    const retries = log.records.filter((r) => r.msg === 'connect failed; retrying').map((r) => [r.attempt, r.delayMs]);
    expect(retries).toEqual([[1, 10], [2, 20]]);
  });

  it('fails at once, not retriable, when a TLS file cannot be read', async () => {
    const error = await startError(transport({ url: amqpUrl.replace(/^amqp:/, 'amqps:'), tls: { ca: '/nonexistent/ca.pem' } }));
    expect(error).toMatchObject({ retriable: false });
    expect(error.message).toBe('bus.amqp.tls.ca: cannot read /nonexistent/ca.pem: ENOENT');
  });
});
