/**
 * Reading Kafka back from a point in time, for `relengd replay --from-kafka --since T`: the Kafka
 * counterpart of the RabbitMQ stream reader (../amqp/stream-reader.ts), with the same shape.
 *
 * Each partition is read from `fetchTopicOffsetsByTimestamp(since)` (the first record whose
 * timestamp is at or after `since`, as the broker's time index finds it) up to the first record
 * whose timestamp is at or after `until`, and never past the high watermark it had when the read
 * started: the read ends, however busy the topic. Record timestamps are the producer's (CreateTime)
 * unless the topic says LogAppendTime; relengd's own records carry the event's time.
 *
 * A cluster that does not look offsets up by time (librdkafka's mock cluster answers "no offset" to
 * every timestamp) is told apart by asking for the offset of time 0, which a partition holding
 * records answers with its first one: where that too comes back empty, the partition is read from
 * its start and the records before `since` are skipped here by their timestamps, the same rule.
 *
 * kafkajs cannot consume without a consumer group (it has no manual partition assignment), so each
 * read joins a group of its own, `<bus.kafka.groupId>.replay.<random>` (named after the live group
 * so that prefixed group ACLs cover it; random so that two reads never share partitions), seeks
 * every partition to the start of its range and never commits an offset: the live group's offsets
 * are not touched, and the replay group leaves nothing behind (it is deleted at the end when the
 * cluster allows).
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import type { KafkaConfig } from '../../config/index.ts';
import type { Logger } from '../../log.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import { decode } from './codec.ts';
import { connectAdmin, createClient, ONE_SHOT_RETRY } from './connection.ts';
import { KafkaTransportError } from './errors.ts';
import { resolveTopics, topicsFor } from './topology.ts';

export interface TopicReadOptions {
  config: KafkaConfig;
  /** Read records whose timestamp is at or after this time (ISO). */
  since: string;
  /** Stop at records whose timestamp is at or after this time (ISO). Default: the end of each partition when the read started. */
  until?: string | undefined;
  /**
   * Bare topic patterns read besides `config.topics`, each with and without `topicPrefix`, as the
   * live consumer subscribes them (topology.ts). @default [] (only `config.topics`)
   */
  patterns?: readonly string[] | undefined;
  topicPrefix?: string | undefined;
  /** Give up on partitions that made no progress for this long (a tail removed by compaction or retention). @default 10000 */
  idleMs?: number | undefined;
  batchSize?: number | undefined;
  logger: Logger;
  /** Where `sasl.passwordEnv` is read. @default process.env */
  env?: Record<string, string | undefined> | undefined;
}

/** One partition's range: from `next` (the next offset to read) up to `end`, exclusive. */
interface PartitionRange {
  topic: string;
  partition: number;
  next: bigint;
  end: bigint;
  /** A record at or after `since` was reached (from the time index, or read): everything from here on is handed over. */
  reached: boolean;
}

/**
 * Reads the topics from `since` to `until` (or to their end when the read started) and hands the
 * records over in batches, decoded as the live consumer decodes them, each partition in offset
 * order. Commits nothing.
 * @returns how many records were read and how many were handed over.
 */
export async function readTopicsSince(options: TopicReadOptions, onBatch: (batch: Delivery[]) => Promise<void>): Promise<{ read: number; handed: number }> {
  const { config } = options;
  const log = options.logger.child({ component: 'bus.kafka' });
  const client = createClient({ config, logger: log, retry: ONE_SHOT_RETRY, env: options.env });
  const groupId = `${config.groupId}.replay.${randomUUID().slice(0, 8)}`;
  const admin = await connectAdmin(client, config.brokers);
  try {
    const wanted = topicsFor(options.patterns ?? [], options.topicPrefix ?? '', config.topics);
    const { subscribe: topics, missing } = resolveTopics(wanted, await admin.listTopics(), [config.deadLetter]);
    if (missing.length > 0) log.warn({ missing }, 'topics not on the cluster: nothing to read there');
    const since = Date.parse(options.since);
    const ranges = await rangesOf(admin, topics, since);
    if (ranges.some((r) => !r.reached)) log.warn({ topics }, 'the cluster does not look offsets up by time: reading from the start of each partition, skipping records before --since');
    const toRead = ranges.filter((r) => r.next < r.end);
    if (toRead.length === 0) {
      log.info({ topics, since: options.since, until: options.until }, 'nothing to read in that time range');
      return { read: 0, handed: 0 };
    }
    const consumer = client.consumer({
      groupId,
      // Long enough for a batch the catch-up dispatches synchronously (no heartbeat meanwhile).
      sessionTimeout: 60_000,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      // A read that fails is reported, not restarted: running it again is safe (the inbox drops what it has).
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    try {
      const until = options.until === undefined ? Infinity : Date.parse(options.until);
      return await readRanges(consumer, toRead, { ...options, since, until, log, onBatch });
    } finally {
      await consumer.disconnect().catch((error: unknown) => log.debug({ err: error }, 'replay consumer disconnect failed'));
      // Nothing was committed, so nothing is lost; a cluster that refuses lets the empty group expire.
      await admin.deleteGroups([groupId]).catch((error: unknown) => log.debug({ err: error, groupId }, 'replay group not deleted'));
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Each partition's range, fixed now: from the offset for `since` up to the high watermark. */
async function rangesOf(admin: Admin, topics: readonly string[], since: number): Promise<PartitionRange[]> {
  const ranges: PartitionRange[] = [];
  for (const topic of topics) {
    const watermarks = await admin.fetchTopicOffsets(topic);
    // kafkajs answers the high watermark for a partition with no record at or after the time.
    const starts = await admin.fetchTopicOffsetsByTimestamp(topic, since);
    let firsts: Array<{ partition: number; offset: string }> | undefined;
    for (const { partition, high, low } of watermarks) {
      const start = starts.find((s) => s.partition === partition)?.offset ?? high;
      let range: PartitionRange = { topic, partition, next: BigInt(start), end: BigInt(high), reached: true };
      if (BigInt(start) >= BigInt(high) && BigInt(low) < BigInt(high)) {
        // Nothing at or after `since`, or no lookup by time at all: the offset of time 0 tells which.
        firsts ??= await admin.fetchTopicOffsetsByTimestamp(topic, 0);
        const first = firsts.find((s) => s.partition === partition)?.offset ?? high;
        if (BigInt(first) >= BigInt(high)) range = { ...range, next: BigInt(low), reached: false };
      }
      ranges.push(range);
    }
  }
  return ranges;
}

interface ReadContext {
  /** Milliseconds since the epoch. */
  since: number;
  until: number;
  log: Logger;
  onBatch: (batch: Delivery[]) => Promise<void>;
  idleMs?: number | undefined;
  batchSize?: number | undefined;
}

/** Consumes until every range is read (or stalls for `idleMs`), handing over what lies in the ranges. */
async function readRanges(consumer: Consumer, ranges: readonly PartitionRange[], o: ReadContext): Promise<{ read: number; handed: number }> {
  const idleMs = o.idleMs ?? 10_000;
  const batchSize = o.batchSize ?? 500;
  const open = new Map(ranges.map((r) => [rangeKey(r.topic, r.partition), { ...r }]));
  let read = 0;
  let handed = 0;
  let idle: NodeJS.Timeout | undefined;
  let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // It may fail (a crash) before it is awaited below; the await still sees the error.
  done.catch(() => undefined);
  let finished = false;
  const finish = (error?: unknown): void => {
    if (finished) return;
    finished = true;
    clearTimeout(idle);
    if (error === undefined) settle!.resolve();
    else settle!.reject(error);
  };
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      o.log.warn({ partitions: [...open.values()].map((r) => ({ topic: r.topic, partition: r.partition, next: String(r.next), end: String(r.end) })), idleMs }, 'no progress; the rest of these partitions is gone (compaction, retention): read ends');
      finish();
    }, idleMs);
  };
  /** Moves a partition's position past `lastOffset`; a partition read to its end is paused, the read ends with the last one. */
  const advance = (topic: string, partition: number, lastOffset: string): void => {
    const range = open.get(rangeKey(topic, partition));
    if (!range || BigInt(lastOffset) < range.next) return;
    range.next = BigInt(lastOffset) + 1n;
    if (range.next < range.end) return;
    open.delete(rangeKey(topic, partition));
    consumer.pause([{ topic, partitions: [partition] }]);
    if (open.size === 0) finish();
  };

  const { GROUP_JOIN, END_BATCH_PROCESS, CRASH } = consumer.events;
  consumer.on(GROUP_JOIN, (event) => {
    // On every join (a rejoin too): each partition from where this read is, not from the group's (empty) offsets;
    // partitions with nothing (more) to read are not fetched at all.
    for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
      const nothingLeft = partitions.filter((partition) => !open.has(rangeKey(topic, partition)));
      if (nothingLeft.length > 0) consumer.pause([{ topic, partitions: nothingLeft }]);
    }
    for (const r of open.values()) consumer.seek({ topic: r.topic, partition: r.partition, offset: String(r.next) });
    arm();
  });
  // Batches kafkajs settles without handing them over (only control records, or compacted away) move the position too.
  consumer.on(END_BATCH_PROCESS, (event) => advance(event.payload.topic, event.payload.partition, event.payload.lastOffset));
  consumer.on(CRASH, (event) => finish(new KafkaTransportError(`reading from Kafka failed: ${event.payload.error.message}`, { cause: event.payload.error })));

  const eachBatch = async ({ batch }: EachBatchPayload): Promise<void> => {
    const range = open.get(rangeKey(batch.topic, batch.partition));
    if (finished || !range) return;
    clearTimeout(idle);
    try {
      const deliveries: Delivery[] = [];
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (offset < range.next) continue;
        if (offset >= range.end) break;
        read++;
        // Kafka timestamps are milliseconds since the epoch; -1 (none) counts as before any time.
        const time = Number(message.timestamp);
        if (time >= o.until) {
          range.end = offset;
          break;
        }
        if (!range.reached && !(time >= o.since)) continue;
        range.reached = true;
        // Recorded history, as --from-stream marks it: never a command. Kafka records carry no
        // identity, so gating facts and topics with a `publishers` rule are refused as they are live
        // (an archive's "vouched for by the operator" would let whoever can produce to the topic past them).
        deliveries.push({ ...decode({ topic: batch.topic, partition: batch.partition, message }), source: 'replayed' });
      }
      for (let i = 0; i < deliveries.length; i += batchSize) {
        const chunk = deliveries.slice(i, i + batchSize);
        await o.onBatch(chunk);
        handed += chunk.length;
      }
      advance(batch.topic, batch.partition, batch.lastOffset());
      if (!finished) arm();
    } catch (error) {
      finish(error);
    }
  };

  await consumer.connect();
  await consumer.subscribe({ topics: [...new Set(ranges.map((r) => r.topic))], fromBeginning: true });
  await consumer.run({ autoCommit: false, partitionsConsumedConcurrently: 1, eachBatch });
  await done;
  o.log.info({ read, handed }, 'topics read');
  return { read, handed };
}

function rangeKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}
