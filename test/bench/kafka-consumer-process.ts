/**
 * One consumer of the kafka-consume benchmark, in a process of its own so that its CPU and memory
 * are its own: `node kafka-consumer-process.ts <raw|relengd> <brokers> <topic> <topicPrefix> <count> <groupId> <logLevel>`.
 * Prints JSON lines: `{"event":"committed","seconds"}` once the offsets past the last of `count`
 * records are committed (seconds since the group was joined), `{"event":"done",...}` (CPU, peak
 * RSS) after closing down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { pino } from 'pino';
import { KafkaTransport } from '../../src/bus/kafka/index.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config/index.ts';
import { Intake } from '../../src/pipeline/intake.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { report, reportDone } from './consumer-process.ts';

const [kind, brokersArg, topic, prefix, countArg, groupId, logLevel] = process.argv.slice(2);
const brokers = brokersArg!.split(',');
const count = Number(countArg);

function since(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** The ceiling: take each batch, resolve its last offset, commit; nothing else. Consumer settings as relengd's. */
async function raw(): Promise<Record<string, unknown>> {
  const kafka = new Kafka({ clientId: 'relengd-bench-raw', brokers, logLevel: kafkaLogLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: groupId!, sessionTimeout: 30_000, maxWaitTimeInMs: 1000, allowAutoTopicCreation: false });
  let joinedAt: bigint | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ??= process.hrtime.bigint()));
  let consumed = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic!], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets }) => {
      if (batch.messages.length === 0) return;
      resolveOffset(batch.lastOffset());
      await commitOffsetsIfNecessary(uncommittedOffsets());
      consumed += batch.messages.length;
      if (consumed >= count) finish();
    },
  });
  await finished;
  report({ event: 'committed', seconds: since(joinedAt!) });
  await consumer.disconnect();
  return {};
}

/** relengd as the daemon wires it: KafkaTransport delivering batches to Intake on a real SQLite file. */
async function relengd(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'relengd-bench-'));
  try {
    const config = parseConfig(`topicPrefix: ${prefix}\nstore: { path: ${join(dir, 'relengd.db')} }\n`, {});
    const store = SqliteStore.open(config.store.path);
    const logger = pino({ level: logLevel }, pino.destination({ dest: '/dev/null', sync: false }));
    const intake = new Intake({ store, config, clock: systemClock, logger });
    const transport = new KafkaTransport({
      config: { ...config.bus.kafka, brokers, groupId: groupId!, deadLetter: `${groupId}.dead`, topics: [topic!], fromBeginning: true },
      topicPrefix: prefix!,
      patterns: [],
      logger,
    });
    let stored = 0;
    let commitsBefore = -1;
    await transport.start(async (batch) => {
      const outcomes = await intake.accept(batch);
      stored += outcomes.length;
      // The consumer commits this batch's offsets right after this returns.
      if (stored >= count && commitsBefore < 0) commitsBefore = transport.stats().consumer.commits;
      return outcomes;
    });
    // start() resolves once the group is joined.
    const joinedAt = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const poll = (): void => {
        if (commitsBefore >= 0 && transport.stats().consumer.commits > commitsBefore) resolve();
        else setTimeout(poll, 1);
      };
      poll();
    });
    report({ event: 'committed', seconds: since(joinedAt) });
    await transport.stop();
    const { committed, batches } = transport.stats().consumer;
    if (committed !== count) throw new Error(`relengd committed ${committed} of ${count}`);
    await store.close();
    return { batches };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await reportDone(kind === 'raw' ? raw : relengd);
