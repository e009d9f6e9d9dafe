import type { Command } from 'commander';
import { isTopic } from '../../events/catalogue.ts';
import { splitTopic, topicMatches } from '../../events/topics.ts';
import { UsageError } from '../../errors.ts';
import { eventView, type StoredEvent } from '../../store/events.ts';
import { openStore } from '../../store/open.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { parsePositiveInt, parseSince } from '../time.ts';

interface EventsOptions {
  type?: string;
  topic?: string;
  since?: string;
  limit: string;
  rejected?: boolean;
  failed?: boolean;
  json?: boolean;
}

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('list stored events, newest received first (every inbound and emitted event is kept)')
    .option('--type <type>', 'CloudEvents type (org.relengd.compose.finished) or the topic as listed (relengd.compose.finished)')
    .option('--topic <pattern>', 'topic or AMQP-style pattern (* one word, # any), with or without prefix')
    .option('--since <time>', 'ISO time, or a duration back from now: 30m, 6h, 7d')
    .option('--limit <n>', 'at most this many', '50')
    .option('--failed', 'only events whose listeners failed (replay them after a fix)')
    .option('--rejected', 'list rejected messages (with their raw bytes, the first retention.rejectedRawBytes of them) instead of events')
    .option('--json', 'print JSON')
    .action(async (opts: EventsOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const limit = parsePositiveInt(opts.limit, '--limit');
      const since = opts.since ? parseSince(opts.since, new Date()) : undefined;
      const store = await openStore(config, { existing: true });
      try {
        if (opts.rejected) {
          const rows = (await store.rejected.list(limit)).map(({ raw, ...r }) => ({ ...r, raw: Buffer.from(raw).toString('utf8'), rawKeptBytes: raw.byteLength }));
          output(opts.json, rows, () => rows.map((r) => `${r.receivedAt}  ${r.reason.padEnd(13)} ${r.topic ?? '-'}  ${r.detail}  ${rawSizeNote(r)}`).join('\n') || 'no rejected messages');
          return;
        }
        // `--type` also takes the topic as the listing prints it: people copy it from there.
        const typeAsTopic = opts.type !== undefined && isTopic(splitTopic(opts.type, config.topicPrefix).name) ? splitTopic(opts.type, config.topicPrefix).name : undefined;
        if (typeAsTopic && opts.topic) throw new UsageError(`--type ${opts.type} names a topic; give it with --topic or --type, not both`);
        const pattern = typeAsTopic ?? (opts.topic ? splitTopic(opts.topic, config.topicPrefix).name : undefined);
        const exact = pattern && !/[*#]/.test(pattern) ? pattern : undefined;
        const base = { topic: exact, type: typeAsTopic ? undefined : opts.type, since, dispatchState: opts.failed ? ('failed' as const) : undefined };
        // A pattern is matched here, page by page from the newest, until `limit` events matched.
        const rows: StoredEvent[] = [];
        for (let before: number | undefined; rows.length < limit; ) {
          const page = await store.events.query({ ...base, beforeSeq: before, limit: exact || !pattern ? limit : 1000 });
          if (page.length === 0) break;
          before = page.at(-1)!.seq;
          rows.push(...page.filter((e) => !pattern || exact || topicMatches(pattern, e.envelope.topic)));
          if (exact || !pattern) break;
        }
        rows.splice(limit);
        output(opts.json, rows.map(eventView), () => rows.map(toLine).join('\n') || 'no events match');
      } finally {
        await store.close();
      }
    });
}

/** `[123 bytes]`, or `[8388608 bytes, first 65536 kept]` for a body stored truncated. */
function rawSizeNote(r: { rawSize: number; rawTruncated: boolean; rawKeptBytes: number }): string {
  return r.rawTruncated ? `[${r.rawSize} bytes, first ${r.rawKeptBytes} kept]` : `[${r.rawSize} bytes]`;
}

/** One line per event, stamped with when relengd received it (the order of the listing). */
function toLine(e: StoredEvent): string {
  const env = e.envelope;
  const state = e.dispatchState === 'done' ? '' : `  [${e.dispatchState}${e.dispatchError ? `: ${e.dispatchError}` : ''}]`;
  const outcome = outcomeOf(env.data);
  return `${e.receivedAt}  ${e.origin === 'emitted' ? '->' : '<-'} ${env.topic}  ${env.id}${env.subject ? `  ${env.subject}` : ''}${outcome ? `  ${outcome}` : ''}${state}`;
}

/** What an outcome event says happened: status, reason or error, and the log to read (a DOOMED compose must say why). */
function outcomeOf(data: unknown): string {
  if (typeof data !== 'object' || data === null) return '';
  const field = (name: string): string | undefined => {
    const value = (data as Record<string, unknown>)[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const parts = [field('status'), field('reason') ?? field('error'), field('log') ? `log ${field('log')}` : undefined].filter(Boolean);
  return parts.join('  ');
}
