import type { Command } from 'commander';
import { readStream } from '../../bus/amqp/index.ts';
import type { ArchiveProblem } from '../../bus/archive/codec.ts';
import { archiveFileSource, datagrepperSource } from '../../bus/archive/sources.ts';
import type { Config } from '../../config/index.ts';
import { splitTopic } from '../../events/topics.ts';
import { UsageError } from '../../errors.ts';
import { createLogger, type Logger } from '../../log.ts';
import { catchUp, type BatchSource } from '../../pipeline/catch-up.ts';
import { replayStored, type ReplayReport } from '../../pipeline/replay.ts';
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
    .option('--dry-run', 'print what would be emitted, enqueued and promoted; change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (opts: ReplayOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      if ([opts.fromFile, opts.fromDatagrepper, opts.fromStream].filter(Boolean).length > 1) throw new UsageError('give one of --from-file, --from-datagrepper, --from-stream');
      if ((opts.fromDatagrepper || opts.fromStream) && !opts.since) throw new UsageError(`${opts.fromStream ? '--from-stream' : '--from-datagrepper'} needs --since`);
      const now = new Date();
      const since = opts.since ? parseSince(opts.since, now) : undefined;
      const until = opts.until ? parseSince(opts.until, now) : undefined;
      const logger = createLogger({ level: 'warn', fd: 2 });
      const { store, dispatcher, intake } = openPipeline(config, logger);
      try {
        if (opts.fromFile || opts.fromDatagrepper || opts.fromStream) {
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
        const report = replayStored(store, dispatcher, selection, { dryRun: Boolean(opts.dryRun) });
        output(opts.json, report, () => renderReport(report));
      } finally {
        store.close();
      }
    });
}

/** The archive `--from-file`, `--from-datagrepper` or `--from-stream` names, read batch by batch. */
function catchUpSource(opts: ReplayOptions, config: Config, o: { since: string | undefined; until: string | undefined; logger: Logger; onProblem: (p: ArchiveProblem) => void }): BatchSource {
  if (opts.fromFile) return archiveFileSource(opts.fromFile, o.onProblem);
  if (opts.fromDatagrepper) return datagrepperSource(opts.fromDatagrepper, { since: o.since!, until: o.until }, { onProblem: o.onProblem });
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
