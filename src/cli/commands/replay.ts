import type { Command } from 'commander';
import { readStream } from '../../bus/amqp/index.ts';
import { readTopicsSince } from '../../bus/kafka/index.ts';
import type { ArchiveProblem } from '../../bus/archive/codec.ts';
import { archiveFileSource, datagrepperSource } from '../../bus/archive/sources.ts';
import type { Config } from '../../config/index.ts';
import { splitTopic } from '../../events/topics.ts';
import { UsageError } from '../../errors.ts';
import { createLogger, type Logger } from '../../log.ts';
import { catchUp, type BatchSource } from '../../pipeline/catch-up.ts';
import { allListeners } from '../../pipeline/listeners/index.ts';
import { replayStored, type ReplayReport } from '../../pipeline/replay.ts';
import { Router } from '../../pipeline/router.ts';
import { bindFromOutside } from '../../trust.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { openPipeline } from '../pipeline.ts';
import { parseSince } from '../time.ts';

interface ReplayOptions {
  since?: string;
  until?: string;
  topic?: string;
  id?: string[];
  correlation?: string;
  fromFile?: string;
  fromDatagrepper?: string;
  fromStream?: boolean;
  fromKafka?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('re-dispatch stored events through the listeners (only what is missing is done), or catch up on missed messages from an archive')
    .option('--since <time>', 'from this time (ISO, or 30m / 6h / 7d back)')
    .option('--until <time>', 'up to this time (exclusive)')
    .option('--topic <pattern>', 'topic or AMQP-style pattern, with or without prefix')
    .option('--id <id>', 'this message id (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--correlation <id>', 'every event of one chain (the message that started it)')
    .option('--from-file <file>', 'catch up from an archive: a datagrepper page (/v2/search or /raw), or JSON lines (fedora-messaging record, relengd export)')
    .option('--from-datagrepper <url>', 'catch up from datagrepper over HTTP (with --since), e.g. https://apps.fedoraproject.org/datagrepper')
    .option('--from-stream', 'catch up from the RabbitMQ stream named by bus.amqp.stream (with --since): read by time, x-stream-offset')
    .option('--from-kafka', 'catch up from Kafka (with --since): the topics relengd consumes, each partition from the offset for that time (bus.kafka)')
    .option('--dry-run', 'print what would be emitted, enqueued and promoted; change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (opts: ReplayOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const sources = { '--from-file': opts.fromFile, '--from-datagrepper': opts.fromDatagrepper, '--from-stream': opts.fromStream, '--from-kafka': opts.fromKafka };
      const chosen = Object.entries(sources).filter(([, given]) => Boolean(given)).map(([flag]) => flag);
      if (chosen.length > 1) throw new UsageError(`give one of ${Object.keys(sources).join(', ')} (not ${chosen.join(' and ')})`);
      if (chosen[0] !== undefined && chosen[0] !== '--from-file' && !opts.since) throw new UsageError(`${chosen[0]} needs --since`);
      const now = new Date();
      const since = opts.since ? parseSince(opts.since, now) : undefined;
      const until = opts.until ? parseSince(opts.until, now) : undefined;
      const logger = createLogger({ level: 'warn', fd: 2 });
      const { store, dispatcher, intake } = await openPipeline(config, logger);
      try {
        if (chosen.length > 0) {
          const problems: ArchiveProblem[] = [];
          const source = catchUpSource(opts, config, { since, until, logger, onProblem: (p) => void problems.push(p) });
          const report = { ...(await catchUp(source, { intake, store, dispatcher, dryRun: Boolean(opts.dryRun) })), problems };
          for (const p of problems) process.stderr.write(`relengd: ${opts.fromFile ?? opts.fromDatagrepper}:${p.line}: skipped: ${p.error}\n`);
          output(opts.json, report, () =>
            `${opts.dryRun ? 'dry run: would process' : 'processed'} ${report.committed} new message(s); ${report.duplicate} already seen, ${report.rejected} rejected, ${report.dropped} of relengd's own skipped, ${problems.length} bad line(s) skipped` +
            `${report.emitted ? `; ${report.emitted} event(s) emitted, ${report.enqueued} job(s) enqueued` : ''}`,
          );
          return;
        }
        const selection = { since, until, topic: opts.topic ? splitTopic(opts.topic, config.topicPrefix).name : undefined, ids: opts.id, correlationId: opts.correlation };
        const report = await replayStored(store, dispatcher, selection, { dryRun: Boolean(opts.dryRun) });
        output(opts.json, report, () => renderReport(report));
      } finally {
        await store.close();
      }
    });
}

/** The archive `--from-file`, `--from-datagrepper`, `--from-stream` or `--from-kafka` names, read batch by batch. */
function catchUpSource(opts: ReplayOptions, config: Config, o: { since: string | undefined; until: string | undefined; logger: Logger; onProblem: (p: ArchiveProblem) => void }): BatchSource {
  if (opts.fromFile) return archiveFileSource(opts.fromFile, o.onProblem);
  if (opts.fromDatagrepper) return datagrepperSource(opts.fromDatagrepper, { since: o.since!, until: o.until }, { onProblem: o.onProblem });
  if (opts.fromKafka) {
    // The topics the daemon consumes: the listeners' (only what may come from outside) and bus.kafka.topics.
    const patterns = new Router(allListeners).patterns().filter((p) => bindFromOutside(p, config.publishers));
    return async (each) => {
      await readTopicsSince({ config: config.bus.kafka, since: o.since!, until: o.until, patterns, topicPrefix: config.topicPrefix, logger: o.logger }, each);
    };
  }
  return async (each) => {
    await readStream({ config: config.bus.amqp, since: o.since!, until: o.until, logger: o.logger }, each);
  };
}

function renderReport(r: ReplayReport): string {
  if (r.selected === 0) return 'no stored event matches the selection: nothing to replay';
  const verb = r.dryRun ? 'would' : '';
  const lines = [`${r.dryRun ? 'dry run: ' : ''}replayed ${r.selected} event(s)`];
  if (r.emitted.length + r.enqueued.length + r.requeued.length === 0) lines.push('everything was already done: nothing emitted, nothing enqueued');
  for (const e of r.emitted) lines.push(`  ${verb ? 'would emit' : 'emitted'}  ${e.topic}  ${e.id}${e.subject ? `  ${e.subject}` : ''}  (by ${e.listener})`);
  for (const j of r.enqueued) lines.push(`  ${verb ? 'would enqueue' : 'enqueued'}  ${j.kind} job ${j.id}  (${j.queueKey})${j.kind === 'promote' ? '  <- a promotion' : ''}`);
  for (const j of r.requeued) lines.push(`  ${verb ? 'would re-run' : 're-run'}  ${j.kind} job ${j.id}: its outcome event ${j.missing.join(', ')} is missing`);
  if (!r.dryRun && r.enqueued.length + r.requeued.length > 0) lines.push('jobs run in the daemon (relengd start); follow them with relengd jobs');
  return lines.join('\n');
}
