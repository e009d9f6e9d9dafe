import { Client, escapeIdentifier, type Notification } from 'pg';
import type { Queryable } from './database.ts';

/** The channels relengd wakes replicas on: a new pending event, a queued job, an outbox row. */
export const WakeChannel = {
  events: 'relengd_events',
  jobs: 'relengd_jobs',
  outbox: 'relengd_outbox',
} as const;
export type WakeChannel = (typeof WakeChannel)[keyof typeof WakeChannel];

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): string {
  if (!CHANNEL.test(channel)) throw new TypeError(`not a wake channel name: ${JSON.stringify(channel)} (lower-case letters, digits and _)`);
  return channel;
}

/**
 * Wakes every replica listening on `channel` (NOTIFY). Inside a transaction the notification is
 * sent when it commits and dropped when it rolls back: a listener is never woken for rows it cannot
 * see yet. Notifications of one channel sent together are delivered once (PostgreSQL folds equal
 * payloads), which suits a wake-up: the listener reads whatever is new.
 */
export async function wake(db: Queryable, channel: string, payload = ''): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [checkChannel(channel), payload]);
}

export type WakeCallback = (payload: string) => void;

/** How long a lost listening connection waits before connecting again. */
const RECONNECT_DELAY_MS = 1000;

/**
 * LISTEN on a connection of its own (a pooled one would be handed to other work). When that
 * connection is lost it connects again and LISTENs anew, then calls every callback once with an
 * empty payload: notifications sent while it was away are lost, so each listener looks for work.
 */
export class PgWakeListener {
  readonly #connectionString: string;
  readonly #callbacks = new Map<string, Set<WakeCallback>>();
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(connectionString: string) {
    this.#connectionString = connectionString;
  }

  /**
   * Calls `callback` on each notification on `channel`, from when this resolves (the LISTEN is in
   * effect: a `wake` after it is seen). @returns a function that stops the callback.
   */
  async onWake(channel: string, callback: WakeCallback): Promise<() => Promise<void>> {
    checkChannel(channel);
    const client = await this.#connection();
    let set = this.#callbacks.get(channel);
    if (!set) {
      set = new Set();
      this.#callbacks.set(channel, set);
      await client.query(`LISTEN ${escapeIdentifier(channel)}`);
    }
    set.add(callback);
    return async () => {
      const current = this.#callbacks.get(channel);
      if (!current?.delete(callback) || current.size > 0) return;
      this.#callbacks.delete(channel);
      if (this.#client && !this.#closed) await this.#client.query(`UNLISTEN ${escapeIdentifier(channel)}`).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#callbacks.clear();
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  #connection(): Promise<Client> {
    if (this.#closed) return Promise.reject(new Error('the wake listener is closed'));
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<Client> {
    const client = new Client({ connectionString: this.#connectionString, application_name: 'relengd-wake' });
    client.on('notification', (message: Notification) => {
      for (const callback of this.#callbacks.get(message.channel) ?? []) callback(message.payload ?? '');
    });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    await client.connect();
    for (const channel of this.#callbacks.keys()) await client.query(`LISTEN ${escapeIdentifier(channel)}`);
    this.#client = client;
    return client;
  }

  #lost(client: Client): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), RECONNECT_DELAY_MS);
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#connection();
    } catch {
      this.#reconnectTimer = setTimeout(() => void this.#reconnect(), RECONNECT_DELAY_MS);
      return;
    }
    for (const callbacks of this.#callbacks.values()) for (const callback of callbacks) callback('');
  }
}
