/**
 * The transport contract: what every transport (embedded, AMQP, Kafka) promises, checked by the
 * same scenarios against each (the *.test.ts files beside this one). This file holds what the
 * scenarios share: relengd's side (a real SQLite store, the intake, the listeners), the adapter
 * each transport implements, a gate that holds deliveries at a known point, and the test messages.
 *
 * An adapter does what that transport's producers and operators do: it sends messages the way its
 * producers send them (CloudEvents over HTTP, Fedora Messaging on RabbitMQ, Fedora Messaging bridged
 * into Kafka), reads back what relengd published, breaks relengd's connection, and replays history
 * by time. Where a transport has no such behaviour, its adapter says so instead of pretending.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createBatcher } from '../../../src/bus/batcher.ts';
import type { OutboxRelay } from '../../../src/bus/outbox-relay.ts';
import type { DeliverBatch, Transport } from '../../../src/bus/transport.ts';
import { systemClock } from '../../../src/clock.ts';
import { parseConfig, type Config } from '../../../src/config/index.ts';
import { silentLogger } from '../../../src/log.ts';
import { Dispatcher } from '../../../src/pipeline/dispatcher.ts';
import { Intake, type Delivery, type Outcome } from '../../../src/pipeline/intake.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { Router } from '../../../src/pipeline/router.ts';
import type { RetryPolicy } from '../../../src/retry.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { testConfigYaml } from '../../helpers/config.ts';

/** Quick reconnects, refetch pauses and outbox retries. */
export const contractRetry: RetryPolicy = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0, maxAttempts: 20 };

/** A message from outside: a Fedora topic (with the test's prefix), its body and id, when it was sent. */
export interface InboundMessage {
  topic: string;
  body: unknown;
  /** None: relengd gives it the id of its topic and body, on every transport. */
  id?: string | undefined;
  /** Fedora's `sent-at` (`2019-06-07T16:49:58+00:00`): the event's time. */
  sentAt?: string | undefined;
}

/** Names no other test uses: the topic prefix, the queue or consumer group, the dead-letter queue or topic. */
export interface ContractNames {
  suffix: string;
  prefix: string;
  consumer: string;
  deadLetter: string;
  stream: string;
}

export function contractNames(label: string): ContractNames {
  const suffix = randomUUID().slice(0, 8);
  const consumer = `relengd-contract-${label}-${suffix}`;
  return { suffix, prefix: `contract${suffix}.org.fedoraproject.prod`, consumer, deadLetter: `${consumer}.dead`, stream: `${consumer}.history` };
}

/** relengd without its transport: the store, the inbox (counting what it decided) and the listeners. */
export interface Relengd {
  config: Config;
  store: SqliteStore;
  intake: Intake;
  dispatcher: Dispatcher;
  /** The intake as a transport calls it, through `gate` when one is given. */
  accept: DeliverBatch;
  /** The same for one delivery at a time (HTTP requests), those of one turn stored together as the daemon does. */
  acceptOne(delivery: Delivery): Promise<Outcome>;
  /** Deliveries the intake settled (stored, duplicate, rejected, dropped), any transport. */
  decided(): number;
}

export function openRelengd(o: { dir: string; names: ContractNames; busYaml: string; gate?: DeliveryGate | undefined }): Relengd {
  const yaml = testConfigYaml(o.dir, o.busYaml).replace(/^topicPrefix: .*$/m, `topicPrefix: ${o.names.prefix}`);
  const config = parseConfig(yaml, {});
  const store = SqliteStore.open(join(o.dir, 'relengd.db'));
  const logger = silentLogger();
  const intake = new Intake({ store, config, clock: systemClock, logger });
  const dispatcher = new Dispatcher({ store, router: new Router(allListeners), config, clock: systemClock, logger });
  let decided = 0;
  const counted = async (batch: readonly Delivery[]): Promise<Outcome[]> => {
    const outcomes = await intake.accept(batch);
    decided += outcomes.filter((outcome) => outcome.kind !== 'retry-later').length;
    return outcomes;
  };
  const gated = (accept: DeliverBatch): DeliverBatch => (o.gate ? o.gate.wrap(accept) : accept);
  const groupCommit = createBatcher(counted);
  const acceptMany = gated(async (batch) => Promise.all(batch.map(groupCommit)));
  return {
    config,
    store,
    intake,
    dispatcher,
    accept: gated(async (batch) => counted(batch)),
    acceptOne: async (delivery) => (await acceptMany([delivery]))[0]!,
    decided: () => decided,
  };
}

/** Where a rejected message went, as the transport reports it (a dead-letter queue or topic, or the reply to its sender). */
export interface DeadLetter {
  id: string | undefined;
  reason: string;
}

/** relengd consuming from (and publishing to) one transport. */
export interface BusUnderTest {
  transport: Transport;
  /** The outbox relay on this transport (marks an event sent once the transport confirmed it). */
  outbox: OutboxRelay;
  /** Sends as the transport's producers do; resolves once each message was taken (by the broker, or by relengd over HTTP). */
  send(messages: readonly InboundMessage[]): Promise<void>;
  /** Sends a body that is not JSON, its topic and id on the wire where producers put them. */
  sendUndecodable(message: { topic: string; id: string }): Promise<void>;
  /** The rejected messages so far, with their reasons. */
  deadLettered(): Promise<DeadLetter[]>;
  /** Ids of relengd's events read back from the transport so far (the topics given as `watch`). */
  published(): Promise<ReadonlySet<string>>;
  /**
   * Breaks relengd's connection in the middle of the stream and returns once the break is under
   * way (AMQP: the broker closed the connection; Kafka: a rebalance started; embedded: the HTTP
   * connections were cut). Deliveries held at the gate are let through afterwards.
   */
  interrupt(): Promise<void>;
  /** Checks that relengd did go through the interruption (reconnected, rejoined, or was sent again). */
  expectInterrupted(): Promise<void>;
  /** From now on the transport does not confirm relengd's publishes. */
  refusePublishing(): Promise<void>;
  stop(): Promise<void>;
}

export interface AttachOptions {
  names: ContractNames;
  relengd: Relengd;
  /** Bare topics relengd consumes. */
  topics: readonly string[];
  /** Bare topics of relengd's own events to read back (`published`). */
  watch?: readonly string[];
}

/** One transport, as the scenarios drive it. */
export interface TransportAdapter {
  readonly name: string;
  /** Why this transport cannot run here (no broker, no mock cluster), else null: its scenarios are skipped, saying why. */
  readonly missing: string | null;
  /** Once per test file (a broker or a cluster of its own). */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** The `bus:` section of relengd's config for these names. */
  busYaml(names: ContractNames): string;
  /** Starts relengd's transport on `relengd.accept` and an outbox relay on it. */
  attach(o: AttachOptions): Promise<BusUnderTest>;
  /** Sends messages while relengd is down: they reach the transport's history only (the embedded transport's history is the store). */
  sendWhileDown(o: { relengd: Relengd; names: ContractNames; messages: readonly InboundMessage[] }): Promise<void>;
  /**
   * Replays the history by time, from `since` on, through the inbox and the listeners: the way an
   * operator catches up after an outage. Resolves with how many messages it took from the history.
   */
  replaySince(o: { relengd: Relengd; names: ContractNames; since: string }): Promise<number>;
  /** Cleans up after a test (queues, streams). */
  cleanUp(names: ContractNames): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// a gate between the transport and the intake

export interface DeliveryGate {
  wrap(accept: DeliverBatch): DeliverBatch;
  /** Resolves once the gate closed: at least `after` deliveries are stored, and their answers are held. */
  readonly closed: Promise<void>;
  /** Lets every held answer (and everything after) through. */
  open(): void;
}

/**
 * Holds the transport's deliveries once `after` of them passed: each is stored, then its outcome
 * held until `open()`, so the transport neither acks, commits nor answers it. A broker transport
 * hands one batch at a time, so it stops there; HTTP requests keep arriving and are each held.
 * The test breaks the connection at that known point, with stored but unanswered deliveries in
 * hand, instead of racing the stream.
 */
export function gateAfter(after: number): DeliveryGate {
  let passed = 0;
  let isClosed = false;
  let isOpen = false;
  let opened!: () => void;
  const opening = new Promise<void>((resolve) => (opened = resolve));
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  return {
    closed,
    open: () => {
      isOpen = true;
      opened();
    },
    wrap: (accept) => async (batch) => {
      const outcomes = await accept(batch);
      passed += batch.length;
      if (!isClosed && passed >= after) {
        isClosed = true;
        onClosed();
      }
      if (isClosed && !isOpen) await opening;
      return outcomes;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// messages and what the store holds

/** Fedora's `sent-at` for a time: no fractions, `+00:00`. */
export function sentAt(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, '+00:00');
}

/** Bodhi mashed f26-updates: the listeners ask for a compose of each arch of the test config (2 per message). */
export function bodhiMashes(names: ContractNames, from: number, to: number, at?: number): InboundMessage[] {
  return Array.from({ length: to - from }, (_, k) => ({
    topic: `${names.prefix}.bodhi.compose.complete`,
    id: `mash-${names.suffix}-${from + k}`,
    body: { repo: 'f26-updates', success: true, ctype: 'rpm', agent: 'bodhi', n: from + k },
    ...(at !== undefined ? { sentAt: sentAt(at) } : {}),
  }));
}

/** Ids of inbound events, one per stored row, in the order stored. */
export function inboundIds(store: Pick<SqliteStore, 'db'>): string[] {
  return (store.db.prepare("SELECT id FROM events WHERE origin = 'inbound' ORDER BY seq").all() as Array<{ id: string }>).map((r) => r.id);
}

/** Follow-on events of a topic: how many each cause has. */
export function followOnsByCause(store: Pick<SqliteStore, 'db'>, topic: string): Map<string, number> {
  const rows = store.db.prepare('SELECT causation_id AS cause, count(*) AS n FROM events WHERE topic = ? GROUP BY causation_id').all(topic) as Array<{ cause: string; n: number }>;
  return new Map(rows.map((r) => [r.cause, r.n]));
}
