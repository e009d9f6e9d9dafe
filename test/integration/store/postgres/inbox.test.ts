import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../../src/events/envelope.ts';
import { eventRow } from '../../../../src/store/events.ts';
import { postgresMissingReason, titled, useReplicaStores } from '../../../helpers/postgres.ts';

function envelope(id: string, data: unknown = { n: id }): Envelope {
  return {
    id,
    topic: 'bodhi.compose.complete',
    prefix: 'org.fedoraproject.prod.',
    type: 'org.fedoraproject.prod.bodhi.compose.complete',
    source: 'https://bodhi.fedoraproject.org',
    time: '2026-12-02T10:00:00.000Z',
    subject: 'f26-updates',
    correlationid: id,
    headers: { 'fedora_messaging_schema': 'bodhi.compose.complete.v1' },
    data,
    known: true,
  };
}

const inbound = { origin: 'inbound' as const, transport: 'amqp', receivedAt: '2026-12-02T10:00:01.000Z' };

describe.skipIf(postgresMissingReason !== null)(titled('PostgreSQL inbox'), () => {
  const stores = useReplicaStores();

  it('stores each message id once when two replicas insert the same messages at the same time', async () => {
    const { a, b } = stores();
    const ids = Array.from({ length: 200 }, (_, i) => `msg-${i}`);
    // Each replica inserts every id, interleaved, with many inserts in flight on each pool.
    const results = await Promise.all(ids.flatMap((id) => [a.events.insert(envelope(id), inbound).then((isNew) => ({ id, isNew })), b.events.insert(envelope(id), inbound).then((isNew) => ({ id, isNew }))]));

    for (const id of ids) expect(results.filter((r) => r.id === id && r.isNew), id).toHaveLength(1);
    expect(await a.events.count()).toBe(ids.length);
    expect(await b.events.has('msg-7')).toBe(true);
  });

  it('gives back what it stored: the envelope, and an inbound body byte for byte', async () => {
    const { a, b } = stores();
    // Key order and spacing a JSONB column would change, and a BOM.
    const body = new TextEncoder().encode('\ufeff{"z": 1,  "a": "é", "nested": {"b": [1, 2]}}');
    const e = envelope('body-1', { z: 1, a: 'é', nested: { b: [1, 2] } });
    expect(await a.events.insert(e, { ...inbound, raw: body, rawIsData: true })).toBe(true);
    expect(Buffer.from((await b.events.raw('body-1'))!)).toEqual(Buffer.from(body));

    const notUtf8 = Uint8Array.from([0x7b, 0xff, 0x00, 0x7d]);
    expect(await a.events.insert(envelope('body-2'), { ...inbound, raw: notUtf8, rawIsData: true })).toBe(true);
    expect(Buffer.from((await b.events.raw('body-2'))!)).toEqual(Buffer.from(notUtf8));

    const stored = await b.events.get('body-2');
    expect(stored?.envelope).toEqual(envelope('body-2'));
    expect(stored).toMatchObject({ origin: 'inbound', transport: 'amqp', dispatchState: 'pending', dispatchAttempts: 0 });
  });

  it('dispatches in store order and parks an event after its last failed attempt', async () => {
    const { a } = stores();
    for (const id of ['e1', 'e2', 'e3']) await a.events.insert(envelope(id), inbound);
    const pending = await a.events.pending(10);
    expect(pending.map((e) => e.envelope.id)).toEqual(['e1', 'e2', 'e3']);
    await a.events.markDispatched(pending[0]!.seq, '2026-12-02T10:00:02.000Z');
    await a.events.markDispatchFailed(pending[1]!, 'boom', 1);
    expect((await a.events.pending(10)).map((e) => e.envelope.id)).toEqual(['e3']);
    expect(await a.events.countsByState()).toEqual(expect.arrayContaining([{ origin: 'inbound', state: 'failed', n: 1 }]));
    await a.events.resetDispatch([pending[1]!.seq]);
    expect((await a.events.pending(10)).map((e) => e.envelope.id)).toEqual(['e2', 'e3']);
    expect((await a.events.query({ ids: ['e1', 'e3'], order: 'asc' })).map((e) => e.envelope.id)).toEqual(['e1', 'e3']);
    expect((await a.events.query({ correlationId: 'e2' })).map((e) => e.envelope.id)).toEqual(['e2']);
  });

  it("writeInbox takes the SQLite store's rows: a body that is not text PostgreSQL can hold is kept raw, beside its data", async () => {
    const { a, b } = stores();
    // Invalid UTF-8 inside a JSON string: the data parses (with a replacement character), the bytes are kept as sent.
    const body = Uint8Array.from([...new TextEncoder().encode('{"s": "'), 0xff, ...new TextEncoder().encode('"}')]);
    const text = new TextEncoder().encode('{"s": "ok"}');
    const stored = await a.writeInbox([
      { table: 'events', row: eventRow(envelope('bad-utf8', { s: '\ufffd' }), { ...inbound, raw: body, rawIsData: true }) },
      { table: 'events', row: eventRow(envelope('text', { s: 'ok' }), { ...inbound, raw: text, rawIsData: true }) },
      { table: 'events', row: eventRow(envelope('text', { s: 'ok' }), { ...inbound, raw: text, rawIsData: true }) },
    ]);
    expect(stored).toEqual([true, true, false]);
    expect(Buffer.from((await b.events.raw('bad-utf8'))!)).toEqual(Buffer.from(body));
    expect((await b.events.get('bad-utf8'))?.envelope.data).toEqual({ s: '\ufffd' });
    expect(Buffer.from((await b.events.raw('text'))!)).toEqual(Buffer.from(text));
    expect((await b.events.get('text'))?.envelope).toEqual(envelope('text', { s: 'ok' }));
  });

  it('stores a batch in one statement, in batch order, each id once across replicas racing and within the batch', async () => {
    const { a, b } = stores();
    const body = new TextEncoder().encode('{"kept":  "as sent"}');
    const batch = (from: number) => Array.from({ length: 50 }, (_, i) => ({ envelope: envelope(`batch-${from + i}`), meta: { ...inbound, raw: body, rawIsData: (from + i) % 2 === 0 } }));
    // Overlapping batches from two replicas at once, each run twice; the first batch repeats an id.
    const first = [...batch(0), { envelope: envelope('batch-3'), meta: inbound }];
    const results = await Promise.all([a.events.insertMany(first), b.events.insertMany(batch(25)), a.events.insertMany(batch(25)), b.events.insertMany(first)]);

    expect(results[0]!.at(-1)).toBe(false); // the repeat within its own batch
    expect(results[3]!.at(-1)).toBe(false);
    const fresh = new Map<string, number>();
    for (const [r, items] of [first, batch(25), batch(25), first].entries()) {
      for (const [i, item] of items.entries()) if (results[r]![i]) fresh.set(item.envelope.id, (fresh.get(item.envelope.id) ?? 0) + 1);
    }
    expect(fresh.size).toBe(75);
    expect([...fresh.values()].every((n) => n === 1)).toBe(true);
    expect(await b.events.count()).toBe(75);

    const stored = await b.events.query({ order: 'asc', limit: 100 });
    const fromFirst = stored.filter((e) => Number(e.envelope.id.slice(6)) < 25).map((e) => e.envelope.id);
    expect(fromFirst).toEqual(Array.from({ length: 25 }, (_, i) => `batch-${i}`)); // batch order
    expect(Buffer.from((await a.events.raw('batch-10'))!)).toEqual(Buffer.from(body));
    expect(Buffer.from((await a.events.raw('batch-11'))!)).toEqual(Buffer.from(body));
    expect(await a.events.insertMany([])).toEqual([]);
  });
});
