/**
 * Consuming from Kafka: relengd (decode, validate, store in SQLite with synchronous=FULL, commit
 * offsets after the store commit) against the ceiling, a raw kafkajs consumer that only commits.
 * Same run, same broker, same records: librdkafka's mock cluster (test/helpers/kafka-mock), one
 * topic of 3 partitions filled first, then drained by each consumer in a process of its own
 * (kafka-consumer-process.ts) and a consumer group of its own, from the beginning. The rate is
 * records / (group joined .. last offset committed): the mock's join delay is the same for both
 * and not what is measured.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel as kafkaLogLevel, type Message } from 'kafkajs';
import { startMockCluster } from '../helpers/kafka-mock/cluster.ts';
import { measured, runConsumerProcess, type Measured } from './consumer-process.ts';
import { benchMessages } from './messages.ts';
import { drainNote, ratioNote } from './targets.ts';
import type { Benchmark, BenchRow } from './types.ts';

/** relengd's log level (to /dev/null, but written). */
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
const worker = join(dirname(fileURLToPath(import.meta.url)), 'kafka-consumer-process.ts');
const PARTITIONS = 3;

type Kind = 'raw' | 'relengd';
const label: Record<Kind, string> = { raw: 'raw kafkajs, commit only', relengd: 'relengd: decode, validate, SQLite FULL, commit' };

export const kafkaConsume: Benchmark = {
  name: 'kafka',
  async run({ messages: count }) {
    const run = randomUUID().slice(0, 8);
    const prefix = `bench${run}.org.fedoraproject.prod`;
    const topic = `${prefix}.bodhi.compose.complete`;
    const cluster = await startMockCluster({ topics: [`${topic}:${PARTITIONS}`] });
    try {
      const records = kafkaRecords(count);
      await produceAll(cluster.brokers, topic, records);
      const rows: BenchRow[] = [];
      const rates: Partial<Record<Kind, number>> = {};
      let batches = 0;
      for (const kind of ['raw', 'relengd'] as const) {
        const m = await consume(kind, { brokers: cluster.brokers, topic, prefix, count, groupId: `relengd-bench-${kind}-${run}` });
        rates[kind] = count / m.seconds;
        if (m.batches) batches = m.batches;
        rows.push({ benchmark: 'kafka-consume', case: `drain, ${PARTITIONS} partitions: ${label[kind]}`, messages: count, rate: count / m.seconds, seconds: m.seconds, peakRssMiB: m.peakRssMiB, cpuSeconds: m.cpuSeconds });
      }
      return {
        rows,
        notes: [
          `drain, ${PARTITIONS} partitions: ${ratioNote(rates.relengd!, rates.raw!)}; ${drainNote(rates.relengd!, rates.raw!)}; relengd stored ${count} records in ${batches} transactions (${(count / batches).toFixed(0)} per commit)`,
          `${count} records of ${records[0]!.value!.length} bytes (Fedora Messaging bridged into Kafka) on librdkafka's mock cluster, relengd log level ${logLevel} (to /dev/null)`,
        ],
      };
    } finally {
      await cluster.stop();
    }
  },
};

/** The amqp-consume benchmark's messages, as a bridge puts Fedora Messaging on Kafka: the body as value, its headers and `message_id`. */
function kafkaRecords(count: number): Message[] {
  return benchMessages(count).map(({ content, options }) => ({
    value: content,
    headers: { ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k, String(v)])), message_id: String(options.messageId) },
  }));
}

/** Fills the topic, acknowledged by every in-sync replica, a thousand records a request. */
async function produceAll(brokers: readonly string[], topic: string, records: readonly Message[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'relengd-bench', brokers: [...brokers], logLevel: kafkaLogLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 1000) await producer.send({ topic, acks: -1, messages: records.slice(i, i + 1000) });
  } finally {
    await producer.disconnect();
  }
}

async function consume(kind: Kind, o: { brokers: readonly string[]; topic: string; prefix: string; count: number; groupId: string }): Promise<Measured> {
  let seconds = 0;
  const done = await runConsumerProcess(worker, [kind, o.brokers.join(','), o.topic, o.prefix, String(o.count), o.groupId, logLevel], (event) => {
    if (event.event === 'committed') seconds = Number(event.seconds);
  });
  return measured(done, seconds);
}
