/**
 * The AMQP connection: opened from `bus.amqp` (URL, TLS files, heartbeat, Nagle off) and kept
 * open: after a lost connection or a broker restart it reconnects with backoff (src/retry.ts) and
 * runs the setup again (declare, subscribe, new confirm channel).
 */
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, credentials, type ChannelModel, type SocketOptions } from 'amqplib';
import type { AmqpConfig } from '../../config/index.ts';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { retry, type RetryPolicy } from '../../retry.ts';
import { AmqpError } from './errors.ts';

/** Connection attempts that get no answer within this time fail (and are retried). */
const CONNECT_TIMEOUT_MS = 15_000;

export interface ConnectOptions {
  config: Pick<AmqpConfig, 'url' | 'tls' | 'heartbeatSeconds'>;
  /** Shown by the broker (`rabbitmqctl list_connections user_provided_name`, management UI). */
  connectionName: string;
}

/**
 * Opens a connection. With `tls.cert` and `tls.key` it authenticates with the client certificate
 * (SASL EXTERNAL, as Fedora Messaging does against Fedora's broker); otherwise with the URL's user
 * and password. Nagle is off (`noDelay`): small acks and confirms leave at once.
 * @throws AmqpError, retriable unless the broker refused us (403, 530) or a TLS file is unreadable.
 */
export async function openConnection(options: ConnectOptions): Promise<ChannelModel> {
  const { config } = options;
  const url = new URL(config.url);
  url.searchParams.set('heartbeat', String(config.heartbeatSeconds));
  const socket: SocketOptions = {
    noDelay: true,
    timeout: CONNECT_TIMEOUT_MS,
    clientProperties: { connection_name: options.connectionName, product: 'relengd', app: 'relengd' },
    ...(await tlsOptions(config)),
  };
  try {
    return await connect(url.toString(), socket);
  } catch (error) {
    throw AmqpError.from(error, `cannot connect to ${redactUrl(config.url)}`);
  }
}

async function tlsOptions(config: ConnectOptions['config']): Promise<Partial<SocketOptions>> {
  const tls = config.tls;
  if (!tls) return {};
  const read = async (key: 'ca' | 'cert' | 'key'): Promise<Buffer | undefined> => {
    const path = tls[key];
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (error) {
      throw new AmqpError(`bus.amqp.tls.${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { retriable: false, cause: error });
    }
  };
  const [ca, cert, key] = await Promise.all([read('ca'), read('cert'), read('key')]);
  return {
    minVersion: 'TLSv1.2',
    ...(ca ? { ca: [ca] } : {}),
    ...(cert && key ? { cert, key, credentials: credentials.external() } : {}),
  };
}

/**
 * Whether the TLS files can be read, checked before anything connects: `start` and `config check`
 * refuse an unreadable one as a configuration error naming its key.
 * @throws ConfigError
 */
export function assertTlsFilesReadable(config: Pick<AmqpConfig, 'tls'>): void {
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = config.tls?.[key];
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(`bus.amqp.tls.${key}`, `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? String(error)}`, { cause: error });
    }
  }
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

export interface ConnectionKeeperOptions {
  open: () => Promise<ChannelModel>;
  /** Runs on every new connection (declare, subscribe, confirm channel). A throw closes the connection and retries. */
  setup: (connection: ChannelModel) => Promise<void>;
  /** The connection is set up: consuming and publishing again (`reconnect` false the first time). */
  onUp: (info: { reconnect: boolean; attempt: number }) => void;
  /** The connection is gone; called once per connection, before any reconnect attempt. */
  onDown: (error: Error | undefined) => void;
  retry: RetryPolicy;
  logger: Logger;
}

/**
 * Keeps one connection open. `start` connects (retrying what a retry can fix); afterwards every
 * loss is followed by reconnect attempts with backoff until one succeeds or `stop` is called; a
 * broker that refuses us (403) is retried then too, since an operator may fix it while we wait.
 */
export class ConnectionKeeper {
  readonly #o: ConnectionKeeperOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #connection: ChannelModel | null = null;
  #reconnecting: Promise<void> | null = null;

  constructor(options: ConnectionKeeperOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  get connected(): boolean {
    return this.#connection !== null;
  }

  /** The open, set-up connection, if any. */
  get current(): ChannelModel | null {
    return this.#connection;
  }

  /** Connects and sets up; rejects with the last error when retries run out or the error is not retriable. */
  async start(): Promise<void> {
    await retry((attempt) => this.#establish(attempt, false), this.#o.retry, {
      signal: this.#abort.signal,
      onRetry: (error, attempt, delayMs) => this.#log.warn({ err: error, attempt, delayMs }, 'connect failed; retrying'),
    });
  }

  /** No more reconnects; waits for an attempt in progress to give up. The connection stays open. */
  async stopReconnecting(): Promise<void> {
    this.#abort.abort();
    await this.#reconnecting;
  }

  /** Closes the connection (after `stopReconnecting`). */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#reconnecting;
    const connection = this.#connection;
    this.#connection = null;
    if (connection) await connection.close().catch((error: unknown) => this.#log.debug({ err: error }, 'close failed; connection already gone'));
  }

  /**
   * Closes `connection` so that the keeper reconnects (one of its channels broke, or the broker
   * cancelled the consumer). Checked a turn later: when the whole connection is closing, its
   * channels close first and there is nothing to recycle.
   */
  recycle(connection: ChannelModel, why: string): void {
    setImmediate(() => {
      if (this.#connection !== connection) return;
      this.#log.warn({ why }, 'recycling the connection');
      connection.close().catch(() => this.#lost(connection, undefined));
    });
  }

  async #establish(attempt: number, reconnect: boolean): Promise<void> {
    if (this.#abort.signal.aborted) throw new AmqpError('stopped', { retriable: false });
    const connection = await this.#o.open();
    let closed = false;
    connection.on('error', (error: Error) => this.#log.warn({ err: error }, 'connection error'));
    connection.on('blocked', (reason: string) => this.#log.warn({ reason }, 'broker blocked publishing (resource alarm)'));
    connection.on('unblocked', () => this.#log.info('broker unblocked publishing'));
    connection.on('close', (error?: Error) => {
      closed = true;
      if (this.#connection === connection) this.#lost(connection, error);
    });
    try {
      await this.#o.setup(connection);
      if (closed) throw new AmqpError('connection closed during setup');
      if (this.#abort.signal.aborted) throw new AmqpError('stopped', { retriable: false });
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw AmqpError.from(error, 'setting up the connection');
    }
    this.#connection = connection;
    this.#o.onUp({ reconnect, attempt });
  }

  #lost(connection: ChannelModel, error: Error | undefined): void {
    if (this.#connection !== connection) return;
    this.#connection = null;
    this.#o.onDown(error);
    if (this.#abort.signal.aborted) return;
    this.#log.warn({ err: error }, 'connection lost; reconnecting');
    const policy = { ...this.#o.retry, maxAttempts: Infinity };
    this.#reconnecting = retry(
      async (attempt) => {
        try {
          await this.#establish(attempt, true);
        } catch (e) {
          if (this.#abort.signal.aborted) throw e;
          // While running, keep trying whatever the cause: giving up would leave the daemon deaf.
          throw e instanceof AmqpError && !e.retriable ? new AmqpError(e.message, { code: e.code, retriable: true, cause: e }) : e;
        }
      },
      policy,
      {
        signal: this.#abort.signal,
        onRetry: (e, attempt, delayMs) => this.#log.warn({ err: e, attempt, delayMs }, 'reconnect failed; retrying'),
      },
    )
      .then(() => undefined)
      .catch((e: unknown) => {
        if (!this.#abort.signal.aborted) this.#log.error({ err: e }, 'reconnecting stopped');
      })
      .finally(() => (this.#reconnecting = null));
  }
}
