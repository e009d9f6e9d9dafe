/**
 * The consuming side as the daemon builds it: a real SQLite store, the intake, and the AMQP
 * transport delivering batches to `intake.accept`.
 */
import { join } from 'node:path';
import { AmqpTransport } from '../../../src/bus/amqp/index.ts';
import { bindingKeysFor } from '../../../src/bus/amqp/topology.ts';
import type { DeliverBatch } from '../../../src/bus/transport.ts';
import { systemClock } from '../../../src/clock.ts';
import { parseConfig, type Config } from '../../../src/config/index.ts';
import { silentLogger, type Logger } from '../../../src/log.ts';
import { Intake } from '../../../src/pipeline/intake.ts';
import type { RetryPolicy } from '../../../src/retry.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { amqpUrl, type TestNames } from './broker.ts';

/** Quick reconnects and requeue pauses, without an attempt limit (the transport lifts it for reconnects anyway). */
export const testRetry: RetryPolicy = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0, maxAttempts: 20 };

export interface Consuming {
  config: Config;
  store: Store;
  intake: Intake;
  transport: AmqpTransport;
  connectionName: string;
  /** Stops the transport and closes the store. */
  close(): Promise<void>;
}

export interface ConsumingOptions {
  names: TestNames;
  dir: string;
  /** Bare topics; bound with and without `names.prefix`. */
  topics: readonly string[];
  /** Extra binding keys. */
  bindings?: readonly string[];
  /** YAML added to the config (e.g. `publishers:`). */
  extraConfig?: string;
  /** @default names.prefix */
  topicPrefix?: string;
  prefetch?: number;
  deliveryLimit?: number;
  /** Wraps `intake.accept` (the poison tests). */
  wrap?: (accept: DeliverBatch) => DeliverBatch;
  logger?: Logger;
  /** Opens on an existing store instead (a restart). */
  store?: Store;
  /** @default amqpUrl (the shared broker) */
  url?: string;
}

export async function startConsuming(o: ConsumingOptions): Promise<Consuming> {
  const yaml = testConfigYaml(o.dir, o.extraConfig ?? '').replace(/^topicPrefix: .*$/m, `topicPrefix: ${o.topicPrefix ?? o.names.prefix}`);
  const config = parseConfig(yaml, {});
  const store = o.store ?? Store.open(join(o.dir, 'relengd.db'));
  const logger = o.logger ?? silentLogger();
  const intake = new Intake({ store: new SqliteStore(store), config, clock: systemClock, logger });
  const connectionName = `relengd-test ${o.names.queue}`;
  const transport = new AmqpTransport({
    config: {
      ...config.bus.amqp,
      url: o.url ?? amqpUrl,
      queue: o.names.queue,
      deadLetter: o.names.deadLetter,
      prefetch: o.prefetch ?? config.bus.amqp.prefetch,
      deliveryLimit: o.deliveryLimit ?? config.bus.amqp.deliveryLimit,
      heartbeatSeconds: 5,
    },
    topicPrefix: config.topicPrefix,
    bindingKeys: bindingKeysFor(o.topics, config.topicPrefix, o.bindings ?? []),
    logger,
    retry: testRetry,
    connectionName,
    confirmTimeoutMs: 10_000,
  });
  const accept: DeliverBatch = async (batch) => intake.accept(batch);
  await transport.start(o.wrap ? o.wrap(accept) : accept);
  return {
    config,
    store,
    intake,
    transport,
    connectionName,
    close: async () => {
      await transport.stop();
      store.close();
    },
  };
}

export interface Hold {
  /** Wrap for `startConsuming`. */
  wrap: (accept: DeliverBatch) => DeliverBatch;
  /** Resolves, with the ids the held batch committed, once a batch is held. */
  held: Promise<string[]>;
  /** Lets the held batch (and everything after it) through. */
  release(): void;
}

/**
 * A gate in the consumer: the batch during which the `after`-th message passed is stored and then
 * held before its outcomes go back to the transport, so it is neither acked nor requeued until
 * `release()`. Batches run one at a time, so consumption stops there: a test can do something to
 * the broker at a known point of the stream, with deliveries in hand, instead of racing it.
 */
export function holdAfter(after: number): Hold {
  let passed = 0;
  let holding = false;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let onHeld!: (ids: string[]) => void;
  const held = new Promise<string[]>((resolve) => (onHeld = resolve));
  const wrap = (accept: DeliverBatch): DeliverBatch =>
    async (batch) => {
      const outcomes = await accept(batch);
      passed += batch.length;
      if (!holding && passed >= after) {
        holding = true;
        onHeld(outcomes.flatMap((o) => (o.kind === 'committed' ? [o.id] : [])));
        await opened;
      }
      return outcomes;
    };
  return { wrap, held, release: () => open() };
}

/** Number of stored events (any origin). */
export function storedIds(store: Store): string[] {
  return (store.db.prepare('SELECT id FROM events ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id);
}
