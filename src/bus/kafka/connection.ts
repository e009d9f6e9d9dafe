/**
 * The kafkajs client, made from `bus.kafka`: brokers, client id, TLS files, SASL with the password
 * read from where the configuration says, kafkajs's logs into relengd's logger.
 *
 * Reconnecting is kafkajs's: a lost broker connection is reopened on the next request, a request
 * is retried with backoff (`retry`), metadata is refreshed when a partition's leader moved, and a
 * consumer whose retries ran out is restarted (`restartOnFailure`), which rejoins the group and
 * resumes from the committed offsets. The transport follows it through the consumer's events.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type KafkaConfig as KafkaJsConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../../config/index.ts';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { RetryPolicy } from '../../retry.ts';
import { KafkaTransportError } from './errors.ts';

/** A connection attempt that gets no answer within this time fails (and is retried). */
const CONNECT_TIMEOUT_MS = 10_000;
/** A request the broker does not answer within this time fails (and is retried). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Backoff for one-shot commands (`relengd publish`, `relengd replay --from-kafka`): kafkajs's
 * bounded retries then take about half a minute, so a cluster that is down fails the command
 * instead of keeping the operator waiting as the daemon would.
 */
export const ONE_SHOT_RETRY: RetryPolicy = { initialMs: 300, maxMs: 5_000, factor: 2, jitter: 0.2, maxAttempts: 8 };

export interface ClientOptions {
  config: Pick<KafkaConfig, 'brokers' | 'clientId' | 'tls' | 'sasl'>;
  logger: Logger;
  /** Backoff of kafkajs's own retries (requests, reconnects). */
  retry: RetryPolicy;
  env?: Record<string, string | undefined>;
}

/**
 * A kafkajs client. TLS files and the SASL password are read here, synchronously, so a missing
 * one is a configuration error (exit 2) naming its key, before anything connects.
 * @throws ConfigError
 */
export function createClient(options: ClientOptions): Kafka {
  const { config, retry } = options;
  const client: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Each kafkajs retry sequence is bounded; the consumer is restarted when one runs out (see above).
    retry: { initialRetryTime: retry.initialMs, maxRetryTime: retry.maxMs, factor: retry.jitter, multiplier: retry.factor, retries: 8 },
    logLevel: logLevel.INFO,
    logCreator: () => (entry: LogEntry) => forward(options.logger, entry),
  };
  if (config.tls) {
    const tls = config.tls;
    client.ssl = {
      minVersion: 'TLSv1.2',
      ...(tls.ca ? { ca: [readSecretFile('bus.kafka.tls.ca', tls.ca)] } : {}),
      ...(tls.cert ? { cert: readSecretFile('bus.kafka.tls.cert', tls.cert) } : {}),
      ...(tls.key ? { key: readSecretFile('bus.kafka.tls.key', tls.key) } : {}),
    };
  }
  if (config.sasl) client.sasl = saslOptions(config.sasl, options.env ?? process.env);
  return new Kafka(client);
}

/** A connected admin client; a cluster that cannot be reached (after the client's retries) is an error naming the brokers. */
export async function connectAdmin(client: Kafka, brokers: readonly string[]): Promise<Admin> {
  const admin = client.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new KafkaTransportError(`cannot reach the Kafka cluster at ${brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return admin;
}

function saslOptions(sasl: NonNullable<KafkaConfig['sasl']>, env: Record<string, string | undefined>): SASLOptions {
  let password: string;
  if (sasl.passwordFile !== undefined) {
    password = readSecretFile('bus.kafka.sasl.passwordFile', sasl.passwordFile).toString('utf8').replace(/\r?\n$/, '');
  } else {
    password = env[sasl.passwordEnv!] ?? '';
  }
  if (password === '') {
    const key = sasl.passwordFile !== undefined ? 'bus.kafka.sasl.passwordFile' : 'bus.kafka.sasl.passwordEnv';
    throw new ConfigError(key, `the SASL password is empty (${sasl.passwordFile ?? `$${sasl.passwordEnv}`})`);
  }
  const { username } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

function readSecretFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

/**
 * kafkajs's log lines into pino, under `kafkajs: <namespace>`. Its ERROR lines are mostly attempts
 * it retries (a refused connection, a leader that moved): warnings here; relengd logs an error
 * itself when something is given up. Its INFO chatter (joins, rebalances) goes to debug.
 */
function forward(logger: Logger, entry: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry.log as { message: string; timestamp: string; logger?: string } & Record<string, unknown>;
  const fields = { kafkajs: entry.namespace, ...extra };
  if (entry.level === logLevel.ERROR || entry.level === logLevel.WARN) logger.warn(fields, message);
  else logger.debug(fields, message);
}
