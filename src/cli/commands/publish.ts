import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { sendMessages } from '../../bus/amqp/index.ts';
import { publishOverHttp, type PublishReply } from '../../bus/embedded/client.ts';
import { httpResponseFor } from '../../bus/embedded/codec.ts';
import { recordOfMessage, sendRecords, type OutgoingRecord } from '../../bus/kafka/index.ts';
import type { Config } from '../../config/index.ts';
import { isDerivedId } from '../../events/ids.ts';
import { splitTopic } from '../../events/topics.ts';
import { MessageRejectedError, RejectReason, UsageError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import type { Outcome } from '../../pipeline/intake.ts';
import { authorize, type Sender } from '../../trust.ts';
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

type Message = ReturnType<typeof readMessage>;

/** Who a Kafka record is from, to relengd's Kafka consumer: nobody authenticated (src/bus/kafka/codec.ts). */
const KAFKA_SENDER: Sender = { identity: undefined, source: 'live' };

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('send one message: to the broker when bus.transport is amqp (as Fedora Messaging publishes it) or kafka (a binary-mode CloudEvent), else to a running relengd (CloudEvents over HTTP); a message file (topic, headers, body, id) is sent as is')
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
      if (config.bus.transport === 'kafka' && !opts.url) {
        const prepared = prepareForKafka(config, message);
        if ('refused' in prepared) return printReply(opts.json, httpResponseFor(prepared.refused));
        await sendRecords(config.bus.kafka, [prepared.record], { logger: createLogger({ level: 'warn', fd: 2 }) });
        output(opts.json, { status: 'published', id: prepared.id, via: 'kafka' }, () => `published ${prepared.id} to Kafka topic ${prepared.record.topic}`);
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
      printReply(opts.json, reply);
    });
}

/** relengd's answer (over HTTP, or the one it would give): the body as is, exit 1 unless accepted. */
function printReply(json: boolean | undefined, reply: PublishReply): void {
  const ok = reply.status < 300;
  const r = reply.body;
  output(json, r, () => (ok ? `${String(r.status)} ${String(r.id)}` : `rejected (${String(r.reason)}): ${String(r.error)}`));
  if (!ok) process.exitCode = 1;
}

/**
 * The record for Kafka, or why relengd would refuse it. relengd's Kafka consumer answers nobody (a
 * refused record is dead-lettered), so the rules it applies are applied here first, and what it
 * would refuse is not sent: the trust rules for a sender without identity (src/trust.ts: no
 * commands, no gating facts, no topic with a `publishers` rule, never relengd's own events), an id
 * of the form relengd derives, a body that does not fit the topic's schema.
 */
function prepareForKafka(config: Config, message: Message): { refused: Outcome } | { id: string; record: OutgoingRecord } {
  const verdict = authorize(splitTopic(message.topic, config.topicPrefix).name, KAFKA_SENDER, config.publishers);
  if (!verdict.allowed && verdict.drop) return { refused: { kind: 'dropped', id: message.id ?? null, why: verdict.why } };
  const refuse = (reason: RejectReason, why: string, field: string) => ({ refused: { kind: 'rejected', error: new MessageRejectedError(reason, why, field) } as const });
  if (!verdict.allowed) return refuse(RejectReason.unauthorized, `${verdict.why}; a Kafka record carries no identity: send it to relengd over HTTP with a token (--url)`, 'publisher');
  if (message.id && isDerivedId(message.id)) return refuse(RejectReason.reservedId, `id ${message.id} is of the form relengd derives for its own events; a message may not use it`, 'id');
  try {
    const { envelope, record } = recordOfMessage(message, { topicPrefix: config.topicPrefix, now: new Date().toISOString() });
    return { id: envelope.id, record };
  } catch (error) {
    if (error instanceof MessageRejectedError) return { refused: { kind: 'rejected', error } };
    throw error;
  }
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
