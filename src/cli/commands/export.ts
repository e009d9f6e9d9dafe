import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { toArchiveLine } from '../../bus/archive/codec.ts';
import { splitTopic, topicMatches } from '../../events/topics.ts';
import { openStore } from '../../store/open.ts';
import { resolveConfig, type GlobalOptions } from '../context.ts';
import { parseSince } from '../time.ts';

interface ExportOptions {
  since: string;
  until?: string;
  topic?: string;
  all?: boolean;
  output?: string;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write stored messages as JSON lines (fedora-messaging dicts) that `relengd replay --from-file` reads back')
    .requiredOption('--since <time>', 'from this time (ISO, or 30m / 6h / 7d back)')
    .option('--until <time>', 'up to this time (exclusive)')
    .option('--topic <pattern>', 'topic or AMQP-style pattern')
    .option('--all', 'include the events relengd emitted (default: only inbound messages)')
    .option('-o, --output <file>', 'write here instead of stdout')
    .action(async (opts: ExportOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const now = new Date();
      const since = parseSince(opts.since, now);
      const until = opts.until ? parseSince(opts.until, now) : undefined;
      const pattern = opts.topic ? splitTopic(opts.topic, config.topicPrefix).name : undefined;
      const out = opts.output ? createWriteStream(opts.output) : process.stdout;
      const store = await openStore(config, { existing: true });
      let count = 0;
      try {
        for (let afterSeq = 0; ; ) {
          const page = await store.events.query({ since, until, afterSeq, order: 'asc', limit: 1000, origin: opts.all ? undefined : 'inbound' });
          if (page.length === 0) break;
          afterSeq = page.at(-1)!.seq;
          for (const e of page) {
            if (pattern && !topicMatches(pattern, e.envelope.topic)) continue;
            out.write(`${toArchiveLine({ ...e.envelope, headers: { ...e.envelope.headers } }, config.topicPrefix)}\n`);
            count++;
          }
        }
      } finally {
        await store.close();
        if (opts.output) await new Promise<void>((resolve) => (out as ReturnType<typeof createWriteStream>).end(resolve));
      }
      process.stderr.write(`exported ${count} message(s)\n`);
    });
}
