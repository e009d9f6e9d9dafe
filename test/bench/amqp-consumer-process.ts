/**
 * One consumer of the amqp-consume benchmark, in a process of its own so that its CPU and memory
 * are its own: `node amqp-consumer-process.ts <raw|floor|relengd> <queue> <topicPrefix> <count> <prefetch> <logLevel>`.
 * Prints JSON lines: `{"event":"ready"}` once consuming, `{"event":"acked","seconds"}` when the last of
 * `count` messages is acked, `{"event":"done",...}` (CPU, peak RSS) after closing down.
 * `postgres <queue> <topicPrefix> <count> <prefetch> <logLevel> <storeUrl>`: relengd on the PostgreSQL
 * store at storeUrl, one of possibly several competing consumers of the queue: it stops once the
 * store holds `count` events, whoever stored them (polled, as no process sees the others' acks).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { connect, type ConsumeMessage } from 'amqplib';
import { pino } from 'pino';
import { AmqpTransport, bindingKeysFor } from '../../src/bus/amqp/index.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config/index.ts';
import { Intake } from '../../src/pipeline/intake.ts';
import type { StoreApi } from '../../src/store/api.ts';
import { PostgresStore } from '../../src/store/postgres/index.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { report, reportDone } from './consumer-process.ts';

const [kind, queue, prefix, countArg, prefetchArg, logLevel, storeUrl] = process.argv.slice(2);
const count = Number(countArg);
const prefetch = Number(prefetchArg);
const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** The ceiling: consume and ack each message, nothing else. */
async function raw({ onConnecting, onReady, onAcked }: Clock): Promise<Record<string, unknown>> {
  onConnecting();
  const connection = await connect(url, { noDelay: true });
  const ch = await connection.createChannel();
  await ch.prefetch(prefetch);
  let acked = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await ch.consume(queue!, (msg) => {
    if (!msg) return;
    ch.ack(msg);
    if (++acked === count) done();
  });
  onReady();
  await finished;
  onAcked();
  await ch.close();
  await connection.close();
  return {};
}

/**
 * The floor of any consumer that stores each message exactly once: the id and the body into SQLite
 * (WAL, synchronous=FULL, a UNIQUE id: the duplicate check) in one transaction per batch, acked
 * after the commit; no decoding, no validation, batches formed as relengd forms them. Between
 * raw and relengd: what durability costs on this machine, and what relengd adds to it.
 */
async function floor({ onConnecting, onReady, onAcked }: Clock): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'relengd-bench-floor-'));
  const db = new DatabaseSync(join(dir, 'floor.db'));
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE inbox (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO inbox (id, body) VALUES (?, ?) ON CONFLICT (id) DO NOTHING');
    onConnecting();
    const connection = await connect(url, { noDelay: true });
    const ch = await connection.createChannel();
    await ch.prefetch(prefetch);
    let pending: ConsumeMessage[] = [];
    let acked = 0;
    let batches = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const commit = (): void => {
      const batch = pending;
      pending = [];
      db.exec('BEGIN IMMEDIATE');
      for (const msg of batch) insert.run(String(msg.properties.messageId), msg.content);
      db.exec('COMMIT');
      ch.ack(batch[batch.length - 1]!, true);
      batches++;
      if ((acked += batch.length) === count) done();
    };
    await ch.consume(queue!, (msg) => {
      if (!msg) return;
      // What arrived in one turn of the event loop is one batch, as in relengd's consumer.
      if (pending.push(msg) === 1) setImmediate(commit);
    });
    onReady();
    await finished;
    onAcked();
    await ch.close();
    await connection.close();
    return { batches };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How often a competing consumer asks the shared store whether all `count` events are in. */
const SHARED_POLL_MS = 20;

/** relengd as the daemon wires it: AmqpTransport delivering batches to Intake on a real SQLite file (or the PostgreSQL store at storeUrl). */
async function relengd({ onConnecting, onReady, onAcked }: Clock): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'relengd-bench-'));
  const shared = kind === 'postgres';
  let poll: NodeJS.Timeout | undefined;
  try {
    const config = parseConfig(`topicPrefix: ${prefix}\nstore: { path: ${join(dir, 'relengd.db')} }\n`, {});
    const store: StoreApi = shared ? await PostgresStore.open(storeUrl!) : SqliteStore.open(config.store.path);
    const logger = pino({ level: logLevel }, pino.destination({ dest: '/dev/null', sync: false }));
    const intake = new Intake({ store, config, clock: systemClock, logger });
    const transport = new AmqpTransport({
      config: { ...config.bus.amqp, url, queue: queue!, deadLetter: `${queue}.dead`, prefetch, deliveryLimit: 5 },
      topicPrefix: prefix!,
      bindingKeys: bindingKeysFor([], prefix!),
      logger,
    });
    let stored = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    onConnecting();
    await transport.start(async (batch) => {
      const outcomes = await intake.accept(batch);
      stored += outcomes.length;
      // The transport acks right after this returns.
      if (!shared && stored >= count) setImmediate(done);
      return outcomes;
    });
    if (shared) {
      let asking = false;
      poll = setInterval(() => {
        if (asking) return;
        asking = true;
        store.events.count().then(
          (n) => ((asking = false), n >= count && done()),
          (error: unknown) => (console.error(error), process.exit(1)),
        );
      }, SHARED_POLL_MS);
    }
    onReady();
    await finished;
    clearInterval(poll);
    onAcked();
    await transport.stop();
    const { acked, committed, batches } = transport.stats().consumer;
    // Competing consumers each take a share: the parent checks that the shares add up to count.
    if (!shared && (acked !== count || committed !== count)) throw new Error(`relengd acked ${acked} and committed ${committed} of ${count}`);
    await store.close();
    return { batches, acked, committed };
  } finally {
    clearInterval(poll);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A consumer's timeline. The clock starts as it connects to the broker: opening a store (relengd's
 * migrations, the floor's file) is start-up, not consuming, and in a short drain it would weigh as
 * much as the drain.
 */
interface Clock {
  onConnecting: () => void;
  onReady: () => void;
  onAcked: () => void;
}

let start = process.hrtime.bigint();
await reportDone(() =>
  (kind === 'raw' ? raw : kind === 'floor' ? floor : relengd)({
    onConnecting: () => (start = process.hrtime.bigint()),
    onReady: () => report({ event: 'ready' }),
    onAcked: () => report({ event: 'acked', seconds: Number(process.hrtime.bigint() - start) / 1e9 }),
  }),
);
