import { z } from 'zod';
import type { EnvelopeInput } from '../../events/envelope.ts';
import type { Delivery } from '../../pipeline/intake.ts';

/**
 * Archives of bus history, decoded into deliveries: datagrepper pages (`/v2/search` with
 * fedora-messaging dicts, `/raw` with fedmsg-era ones) and JSON lines as `fedora-messaging record`
 * and `relengd export` write them. A bad entry is reported with its line and skipped.
 */

/** fedora-messaging's serialized form (`/v2/search`, `fedora-messaging record`, `relengd export`). */
const FedoraMessagingDict = z.looseObject({
  topic: z.string().min(1),
  body: z.unknown(),
  id: z.string().optional(),
  headers: z.record(z.string(), z.unknown()).nullish(),
});

/** fedmsg-era datagrepper `/raw` entry: the body is `msg`, the time a POSIX timestamp. */
const FedmsgDict = z.looseObject({
  topic: z.string().min(1),
  msg: z.unknown(),
  msg_id: z.string().optional(),
  timestamp: z.number().optional(),
});

const DatagrepperPage = z.looseObject({
  raw_messages: z.array(z.unknown()),
  pages: z.number().optional(),
  total: z.number().optional(),
});
export type DatagrepperPage = z.infer<typeof DatagrepperPage>;

export interface ArchiveProblem {
  line: number;
  error: string;
}

export interface DecodedArchive {
  deliveries: Delivery[];
  problems: ArchiveProblem[];
}

/** One archived message -> a delivery, or why it is not one. */
export function archiveEntryToDelivery(entry: unknown): Delivery | string {
  const modern = FedoraMessagingDict.safeParse(entry);
  if (modern.success && modern.data.body !== undefined) {
    const headers = stringHeaders(modern.data.headers ?? {});
    const input: EnvelopeInput = { topic: modern.data.topic, id: modern.data.id, data: modern.data.body, time: headers['sent-at'], headers };
    return { transport: 'archive', source: 'archive', raw: Buffer.from(JSON.stringify(entry)), headers, decoded: input };
  }
  const legacy = FedmsgDict.safeParse(entry);
  if (legacy.success && legacy.data.msg !== undefined) {
    const time = legacy.data.timestamp !== undefined ? new Date(legacy.data.timestamp * 1000).toISOString() : undefined;
    const input: EnvelopeInput = { topic: legacy.data.topic, id: legacy.data.msg_id, data: legacy.data.msg, time, headers: {} };
    return { transport: 'archive', source: 'archive', raw: Buffer.from(JSON.stringify(entry)), headers: {}, decoded: input };
  }
  return 'not a bus message: expected {topic, body} (fedora-messaging) or {topic, msg} (fedmsg)';
}

/** The messages of a datagrepper page. */
export function pageEntries(page: DatagrepperPage): unknown[] {
  return page.raw_messages;
}

/**
 * Decodes an archive file: one JSON document (a datagrepper page, or an array of messages), or
 * JSON lines (each a message or a page). Line numbers in problems count from 1.
 */
export function decodeArchive(text: string): DecodedArchive {
  const out: DecodedArchive = { deliveries: [], problems: [] };
  const whole = tryJson(text);
  if (whole.ok && (Array.isArray(whole.value) || DatagrepperPage.safeParse(whole.value).success)) {
    const entries = Array.isArray(whole.value) ? whole.value : pageEntries(DatagrepperPage.parse(whole.value));
    entries.forEach((entry, i) => add(out, entry, i + 1));
    return out;
  }
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const parsed = tryJson(line);
    if (!parsed.ok) return void out.problems.push({ line: i + 1, error: `not JSON: ${parsed.error}` });
    const page = DatagrepperPage.safeParse(parsed.value);
    if (page.success) pageEntries(page.data).forEach((entry) => add(out, entry, i + 1));
    else add(out, parsed.value, i + 1);
  });
  return out;
}

function add(out: DecodedArchive, entry: unknown, line: number): void {
  const delivery = archiveEntryToDelivery(entry);
  if (typeof delivery === 'string') out.problems.push({ line, error: delivery });
  else out.deliveries.push(delivery);
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function stringHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** A stored event as a fedora-messaging dict, the line `relengd export` writes and `--from-file` reads. */
export function toArchiveLine(e: { id: string; topic: string; prefix: string; headers: Record<string, string>; time: string; data: unknown }, defaultPrefix: string): string {
  const prefix = e.prefix || defaultPrefix;
  const topic = prefix ? `${prefix}.${e.topic}` : e.topic;
  return JSON.stringify({ id: e.id, topic, headers: { ...e.headers, 'sent-at': e.headers['sent-at'] ?? e.time }, body: e.data });
}
