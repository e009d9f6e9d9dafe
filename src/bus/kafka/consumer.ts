/**
 * Consuming in a consumer group with `eachBatch`, no auto-commit and no auto-resolve. kafkajs hands
 * over one partition's fetched records at a time; they are decoded, handed to `deliver` (the intake
 * stores the batch in one transaction) and then settled in offset order:
 *
 * | outcome     | what happens                                                              |
 * |-------------|---------------------------------------------------------------------------|
 * | committed   | offset resolved                                                           |
 * | duplicate   | offset resolved                                                           |
 * | dropped     | offset resolved (relengd's own topic from outside: never dead-lettered)   |
 * | rejected    | copied to the dead-letter topic with `x-relengd-error`; offset resolved   |
 * |             | once the cluster acknowledged the copy                                    |
 * | retry-later | stop here: nothing from this record on is resolved                        |
 *
 * The resolved offsets are committed only after `deliver` returned, so a committed offset never
 * covers a record that is not in the store (or dead-lettered, or dropped). A record that could not
 * be settled (retry-later, or a dead-letter copy the cluster did not acknowledge) stops the batch:
 * after a backoff pause (heartbeating) the consumer returns and kafkajs fetches again from the first
 * unresolved offset, so the records after it come back too and the inbox answers `duplicate`.
 *
 * Poison: a record that comes back as retry-later `deliveryLimit` times in a row (counted here: Kafka
 * keeps no delivery count, so a restart or a rebalance starts counting again) is handed to `deliver`
 * once more as a `poison` rejection, kept in the rejected table and dead-lettered with the reason.
 *
 * A rebalance in the middle of a batch: the batch's records are already stored, but the offset
 * commit fails (the generation is gone); whoever gets the partition fetches them again from the
 * last committed offset and the inbox drops what it already has. Nothing is lost, nothing doubled.
 *
 * A crash: kafkajs restarts the consumer itself when the error is retriable or its retries ran out.
 * On any other error it gives up for good, even one a rebalance can bring (a SyncGroup answered
 * with an error kafkajs deems non-retriable, where Kafka's own clients rejoin); relengd then
 * restarts it after a backoff pause (`retry`), counting crashes in a row. Not restarted: refusals
 * (credentials, permissions, settings: refusals.ts), which fail `start` with the reason, and a
 * crash after `retry.maxAttempts` restarts in a row without a join in between.
 */
import type { Consumer, ConsumerRunConfig, EachBatchPayload, Kafka } from 'kafkajs';
import { MessageRejectedError, RejectReason } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Delivery, Outcome } from '../../pipeline/intake.ts';
import { backoffDelay, sleep, type RetryPolicy } from '../../retry.ts';
import type { DeliverBatch } from '../transport.ts';
import { decode, type WireRecord } from './codec.ts';
import { KafkaTransportError } from './errors.ts';
import { isRefusal } from './refusals.ts';

export interface ConsumerStats {
  received: number;
  batches: number;
  committed: number;
  duplicate: number;
  /** relengd's own topics from outside (another instance on a shared cluster), resolved without a trace. */
  dropped: number;
  rejected: number;
  /** Rejections that were poison (retry-later `deliveryLimit` times). */
  poison: number;
  deadLettered: number;
  deadLetterFailed: number;
  retryLater: number;
  /** Offsets resolved (records settled). */
  resolved: number;
  /** Offset commits made. */
  commits: number;
  /** Batches stopped at a record that could not be settled; fetched again. */
  refetches: number;
  /** Group joins after the first (rebalances, restarts after a crash). */
  rejoins: number;
  /** Restarts after a crash kafkajs gave up on (see above). */
  restarts: number;
}

export function emptyConsumerStats(): ConsumerStats {
  return {
    received: 0, batches: 0, committed: 0, duplicate: 0, dropped: 0, rejected: 0, poison: 0, deadLettered: 0,
    deadLetterFailed: 0, retryLater: 0, resolved: 0, commits: 0, refetches: 0, rejoins: 0, restarts: 0,
  };
}

export interface ConsumerOptions {
  client: Kafka;
  groupId: string;
  /** Kafka topics subscribed (they exist on the cluster). */
  topics: readonly string[];
  fromBeginning: boolean;
  deliveryLimit: number;
  deliver: DeliverBatch;
  /** Copies a rejected record to the dead-letter topic; true once the cluster acknowledged the copy. Never throws. */
  deadLetter: (record: WireRecord, error: MessageRejectedError, deliveryCount: number) => Promise<boolean>;
  /** Called on every group join (start, rebalance, restart after a crash): the transport resumes the outbox. */
  onJoined: (info: { rejoin: boolean }) => void;
  /** Pause before fetching a record again after retry-later, and before restarting after a crash, by attempt. */
  retry: RetryPolicy;
  logger: Logger;
  /** kafkajs retries of the group's requests (join, fetch, commit). */
  kafkaRetry: { retries: number; initialRetryTime: number; maxRetryTime: number };
  /** @default 30000 */
  sessionTimeoutMs?: number | undefined;
  /** @default 3000 */
  heartbeatIntervalMs?: number | undefined;
}

/** An idle fetch returns after this long (kafkajs's default is 5 s, which every stop would wait out). */
const FETCH_MAX_WAIT_MS = 1000;

/** Heartbeat at most this long apart while a batch is being stored or paused. */
const HEARTBEAT_SLICE_MS = 1000;

export class BatchConsumer {
  readonly stats: ConsumerStats = emptyConsumerStats();
  readonly #o: ConsumerOptions;
  readonly #log: Logger;
  readonly #consumer: Consumer;
  /** Failed store attempts by record (`topic/partition/offset`), for the poison limit. */
  readonly #attempts = new Map<string, number>();
  readonly #stopping = new AbortController();
  readonly #run: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: (payload) => this.#onBatch(payload),
  };
  #joins = 0;
  /** Crashes since the last join, for the restart backoff. */
  #crashes = 0;
  /** While `start` waits for the first join: fails it. */
  #gaveUp: ((error: Error) => void) | null = null;
  #inGroup = false;
  #started = false;

  constructor(options: ConsumerOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#consumer = options.client.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      // How long an idle fetch waits at the broker: `stop` waits for the fetch in flight, so this bounds it.
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      // Topics are the operator's to create; subscribing must not create them.
      allowAutoTopicCreation: false,
      retry: { ...options.kafkaRetry, restartOnFailure: async (error) => this.#restartOnFailure(error) },
    });
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, (event) => {
      const rejoin = this.#joins++ > 0;
      if (rejoin) this.stats.rejoins++;
      this.#inGroup = true;
      this.#crashes = 0;
      // Counts start again with the group's new generation (documented in the schema).
      this.#attempts.clear();
      this.#log.info({ groupId: event.payload.groupId, assignment: event.payload.memberAssignment, rejoin }, rejoin ? 'rejoined the consumer group' : 'joined the consumer group');
      try {
        this.#o.onJoined({ rejoin });
      } catch (error) {
        this.#log.error({ err: error }, 'onJoined failed');
      }
    });
    this.#consumer.on(CRASH, (event) => {
      this.#inGroup = false;
      const { error, restart } = event.payload;
      if (this.#stopping.signal.aborted) return;
      if (restart) this.#log.warn({ err: error }, 'consumer crashed; kafkajs restarts it (rejoin, resume from the committed offsets)');
      else this.#crashed(error);
    });
    this.#consumer.on(STOP, () => (this.#inGroup = false));
    this.#consumer.on(DISCONNECT, () => (this.#inGroup = false));
  }

  /** Joined the group and fetching. */
  get consuming(): boolean {
    return this.#inGroup && !this.#stopping.signal.aborted;
  }

  /**
   * Connects, subscribes and starts the group; resolves once the group is joined (after restarts,
   * see above). Rejects when the cluster refuses the consumer, when it crashes for good before
   * joining, or when `stop` is called first.
   */
  async start(): Promise<void> {
    if (this.#started) throw new TypeError('kafka consumer already started');
    this.#started = true;
    const { groupId } = this.#o;
    const joined = new Promise<void>((resolve, reject) => {
      const settle = (error?: KafkaTransportError): void => {
        offJoin();
        this.#gaveUp = null;
        this.#stopping.signal.removeEventListener('abort', onStop);
        if (error) reject(error);
        else resolve();
      };
      const offJoin = this.#consumer.on(this.#consumer.events.GROUP_JOIN, () => settle());
      this.#gaveUp = (error) => {
        const why = isRefusal(error) ? `the Kafka cluster refused the consumer of group ${groupId}` : `the consumer crashed before joining group ${groupId}`;
        settle(new KafkaTransportError(`${why}: ${error.message}`, { retriable: false, cause: error }));
      };
      const onStop = (): void => settle(new KafkaTransportError(`stopped before joining group ${groupId}`, { retriable: false }));
      if (this.#stopping.signal.aborted) onStop();
      else this.#stopping.signal.addEventListener('abort', onStop, { once: true });
    });
    // An unhandled rejection if start itself throws first: the caller sees that error instead.
    joined.catch(() => undefined);
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#o.topics], fromBeginning: this.#o.fromBeginning });
    await this.#consumer.run(this.#run);
    await joined;
  }

  /** Stops fetching, lets the batch in hand finish (stored and committed, or left to be fetched again), leaves the group. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#consumer.disconnect().catch((error: unknown) => this.#log.debug({ err: error }, 'consumer disconnect failed'));
    this.#inGroup = false;
  }

  /** kafkajs asks before its own restart (a retriable error, or retries run out). */
  async #restartOnFailure(error: Error): Promise<boolean> {
    if (this.#stopping.signal.aborted || isRefusal(error)) return false;
    this.#log.warn({ err: error }, 'consumer failed; restarting');
    return true;
  }

  /** A crash kafkajs does not restart from: relengd restarts it, or gives up (see above). */
  #crashed(error: Error): void {
    if (this.#stopping.signal.aborted) return;
    if (!isRefusal(error) && this.#crashes < this.#o.retry.maxAttempts) {
      void this.#restartAfterCrash(error);
      return;
    }
    this.#log.error({ err: error, refused: isRefusal(error), crashes: this.#crashes }, 'consumer crashed and will not restart');
    this.#gaveUp?.(error);
  }

  /** kafkajs has disconnected the crashed consumer; after a pause, `run` connects and joins again. */
  async #restartAfterCrash(error: Error): Promise<void> {
    const crashes = ++this.#crashes;
    const delayMs = backoffDelay(this.#o.retry, crashes);
    this.#log.warn({ err: error, crashes, delayMs }, 'consumer crashed on an error kafkajs does not restart from; restarting it after a pause (rejoin, resume from the committed offsets)');
    await sleep(delayMs, this.#stopping.signal);
    if (this.#stopping.signal.aborted) return;
    this.stats.restarts++;
    try {
      // A join failure comes back as another crash (kafkajs's runner catches it), not as a throw.
      await this.#consumer.run(this.#run);
    } catch (e) {
      this.#crashed(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale } = payload;
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    this.stats.batches++;
    this.stats.received += batch.messages.length;
    const records: WireRecord[] = batch.messages.map((message) => ({ topic: batch.topic, partition: batch.partition, message }));
    const deliveries = records.map((record) => decode(record));
    const outcomes = await this.#whileHeartbeating(heartbeat, () => this.#deliver(deliveries));

    let resolvedAny = false;
    let stoppedAt: { record: WireRecord; attempts: number } | null = null;
    for (const [i, record] of records.entries()) {
      const key = recordKey(record);
      let outcome = outcomes[i]!;
      let attempts = this.#attempts.get(key) ?? 0;
      if (outcome.kind === 'retry-later') {
        this.stats.retryLater++;
        attempts++;
        this.#attempts.set(key, attempts);
        if (attempts >= this.#o.deliveryLimit) {
          // The last chance: record it as poison (rejected table, dead letter) instead of trying again.
          const [again] = await this.#deliver([{ ...deliveries[i]!, decoded: poisonError(outcome, attempts, this.#o.deliveryLimit) }]);
          outcome = again!;
        }
      }
      if (outcome.kind === 'retry-later') {
        stoppedAt = { record, attempts };
        break;
      }
      if (outcome.kind === 'rejected') {
        this.stats.rejected++;
        if (outcome.error.reason === RejectReason.poison) this.stats.poison++;
        if (!(await this.#o.deadLetter(record, outcome.error, Math.max(attempts, 1)))) {
          this.stats.deadLetterFailed++;
          this.#log.warn({ topic: record.topic, partition: record.partition, offset: record.message.offset, reason: outcome.error.reason }, 'dead-letter copy not acknowledged; the record is fetched again');
          stoppedAt = { record, attempts: attempts + 1 };
          break;
        }
        this.stats.deadLettered++;
        await heartbeat();
      } else {
        this.stats[outcome.kind]++;
      }
      resolveOffset(record.message.offset);
      this.#attempts.delete(key);
      this.stats.resolved++;
      resolvedAny = true;
    }

    // Only now, with every resolved record stored (or dead-lettered, or dropped), move the group's offsets.
    if (resolvedAny) {
      await commitOffsetsIfNecessary(uncommittedOffsets());
      this.stats.commits++;
    }
    if (stoppedAt) {
      this.stats.refetches++;
      const delayMs = backoffDelay(this.#o.retry, stoppedAt.attempts);
      const { record } = stoppedAt;
      this.#log.warn({ topic: record.topic, partition: record.partition, offset: record.message.offset, attempts: stoppedAt.attempts, delayMs }, 'record not settled; fetching it again after a pause');
      await this.#whileHeartbeating(heartbeat, () => sleep(delayMs, this.#stopping.signal));
    }
  }

  /** `deliver`, with a throw or a wrong-length answer turned into retry-later for the whole batch. */
  async #deliver(deliveries: Delivery[]): Promise<Outcome[]> {
    try {
      const outcomes = await this.#o.deliver(deliveries);
      if (outcomes.length !== deliveries.length) throw new RangeError(`deliver answered ${outcomes.length} outcomes for ${deliveries.length} deliveries`);
      return [...outcomes];
    } catch (error) {
      this.#log.error({ err: error, count: deliveries.length }, 'deliver failed; records to be fetched again');
      return deliveries.map(() => ({ kind: 'retry-later', error }));
    }
  }

  /**
   * Runs `work` while heartbeating every second (kafkajs sends one only when `heartbeatInterval`
   * has passed), so a long store or pause does not cost the group its member. A heartbeat that
   * fails (a rebalance started) is left to the next fetch to act on.
   */
  async #whileHeartbeating<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      heartbeat().catch((error: unknown) => this.#log.debug({ err: error }, 'heartbeat failed'));
    }, HEARTBEAT_SLICE_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }
}

function recordKey(record: WireRecord): string {
  return `${record.topic}/${record.partition}/${record.message.offset}`;
}

function poisonError(outcome: Outcome, attempts: number, limit: number): MessageRejectedError {
  const error = outcome.kind === 'retry-later' ? outcome.error : undefined;
  const last = error instanceof Error ? error.message : String(error);
  return new MessageRejectedError(RejectReason.poison, `not stored after ${attempts} attempts (delivery limit ${limit}); last error: ${last}`);
}

