import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { sendMessages } from '../../bus/amqp/index.ts';
import { publishOverHttp, type PublishReply } from '../../bus/embedded/client.ts';
import { UsageError } from '../../errors.ts';
import { httpTokenFrom, output, resolveConfig, type GlobalOptions } from '../context.ts';

interface PublishOptions {
  topic?: string;
  file?: string;
  data?: string;
  id?: string;
  url?: string;
  tokenFile?: string;
  json?: boolean;
}

/** A message file as `fedora-messaging publish` and datagrepper write it: topic, headers, body, id. */
const MessageFile = z.looseObject({
  topic: z.string().optional(),
  id: z.string().optional(),
  headers: z.record(z.string(), z.unknown()).optional(),
  body: z.unknown(),
});

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('send one message: to the broker when bus.transport is amqp (as Fedora Messaging publishes it), else to a running relengd (CloudEvents over HTTP); a message file (topic, headers, body, id) is sent as is')
    .option('-t, --topic <topic>', 'topic, with or without prefix (taken from the file when it has one)')
    .option('-f, --file <file>', 'JSON file: a message {topic, headers, body, id} or a bare body')
    .option('-d, --data <json>', 'the message body as JSON')
    .option('--id <id>', 'message id (default: the file\'s, else derived from the topic and the body)')
    .option('--url <url>', 'send to this relengd HTTP endpoint (default with the embedded transport: from the config http section)')
    .option('--token-file <file>', 'over HTTP, authenticate with the bearer token in this file (default: $RELENGD_TOKEN)')
    .option('--json', 'print the response as JSON')
    .action(async (opts: PublishOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const message = readMessage(opts);
      if (config.bus.transport === 'amqp' && !opts.url) {
        const [id] = await sendMessages(config.bus.amqp, [message]);
        output(opts.json, { status: 'published', id, via: 'amqp' }, () => `published ${id} to amq.topic as ${message.topic}`);
        return;
      }
      const baseUrl = opts.url ?? `http://${config.http.host}:${config.http.port}`;
      const token = httpTokenFrom(opts.tokenFile);
      let reply: PublishReply;
      try {
        reply = await publishOverHttp(baseUrl, message, { token });
      } catch (error) {
        const cause = (error as Error).cause;
        throw new Error(`cannot reach relengd at ${baseUrl}: ${cause instanceof Error ? cause.message : (error as Error).message}`);
      }
      const response = { ok: reply.status < 300 };
      const r = reply.body;
      output(opts.json, r, () => (response.ok ? `${String(r.status)} ${String(r.id)}` : `rejected (${String(r.reason)}): ${String(r.error)}`));
      if (!response.ok) process.exitCode = 1;
    });
}

function readMessage(opts: PublishOptions): { topic: string; id?: string | undefined; headers?: Record<string, unknown> | undefined; body: unknown } {
  if (!opts.file === !opts.data) throw new UsageError('give exactly one of --file or --data');
  let parsed: unknown;
  try {
    parsed = JSON.parse(opts.file ? readFileSync(opts.file, 'utf8') : opts.data!);
  } catch (error) {
    throw new UsageError(`${opts.file ?? '--data'} is not JSON: ${(error as Error).message}`);
  }
  const asFile = opts.file ? MessageFile.safeParse(parsed) : undefined;
  const isMessageFile = asFile?.success === true && asFile.data.body !== undefined && (asFile.data.topic !== undefined || opts.topic !== undefined);
  const topic = opts.topic ?? (isMessageFile ? asFile.data.topic : undefined);
  if (!topic) throw new UsageError('no topic: give --topic, or a file with a "topic" key');
  if (isMessageFile) return { topic, id: opts.id ?? asFile.data.id, headers: asFile.data.headers, body: asFile.data.body };
  return { topic, id: opts.id, body: parsed };
}
