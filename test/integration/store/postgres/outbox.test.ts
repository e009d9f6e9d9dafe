import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../../src/events/envelope.ts';
import type { PostgresStore } from '../../../../src/store/postgres/index.ts';
import { postgresMissingReason, titled, useReplicaStores } from '../../../helpers/postgres.ts';

const AT = '2026-12-02T10:00:00.000Z';
const LEASE_MS = 60_000;

async function emitted(store: PostgresStore, id: string, createdAt: string): Promise<void> {
  const e: Envelope = { id, topic: 'relengd.compose.finished', prefix: 'org.example.', type: 'org.relengd.compose.finished', source: 'relengd', time: createdAt, correlationid: 'c', headers: {}, data: {}, known: true };
  await store.transaction(async () => {
    await store.events.insert(e, { origin: 'emitted', transport: 'relengd', receivedAt: createdAt });
    await store.outbox.add(id, `org.example.relengd.compose.finished`, createdAt);
  });
}

describe.skipIf(postgresMissingReason !== null)(titled('PostgreSQL outbox across replicas'), () => {
  const stores = useReplicaStores();

  it('hands each unsent row to one replica at a time', async () => {
    const { a, b } = stores();
    const ids = Array.from({ length: 40 }, (_, i) => `out-${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) await emitted(a, id, `2026-12-02T10:00:${String(i).padStart(2, '0')}.000Z`);

    const batches = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a.outbox.claim('replica-a', 5, LEASE_MS) : b.outbox.claim('replica-b', 5, LEASE_MS))));
    const claimed = batches.flat().map((item) => item.eventId);
    expect(claimed.sort()).toEqual(ids); // every row once, none twice
    for (const batch of batches) expect(batch.map((item) => item.eventId)).toEqual([...batch.map((item) => item.eventId)].sort()); // oldest first
    expect(await a.outbox.claim('replica-a', 5, LEASE_MS)).toEqual([]);
    expect(await b.outbox.countPending()).toBe(40);
  });

  it('marks a row sent on confirm, frees it on failure, and lets another replica take it when the claim expired', async () => {
    const { a, b } = stores();
    for (const [i, id] of ['sent', 'failed', 'orphaned'].entries()) await emitted(a, id, `2026-12-02T10:00:0${i}.000Z`);
    expect((await a.outbox.claim('replica-a', 10, LEASE_MS)).map((item) => item.eventId)).toEqual(['sent', 'failed', 'orphaned']);
    expect(await b.outbox.claim('replica-b', 10, LEASE_MS)).toEqual([]);

    await a.outbox.markSent('sent', AT);
    expect(await b.outbox.release('failed', 'replica-b', 'not mine')).toBe(false);
    expect(await a.outbox.release('failed', 'replica-a', 'broker closed the channel')).toBe(true);
    const retried = await b.outbox.claim('replica-b', 10, LEASE_MS);
    expect(retried).toEqual([{ eventId: 'failed', routingKey: 'org.example.relengd.compose.finished', createdAt: '2026-12-02T10:00:01.000Z', attempts: 1, lastError: 'broker closed the channel' }]);

    // Replica a dies holding 'orphaned'.
    await a.db.query(`UPDATE outbox SET claim_expires_at = now() - interval '1 second' WHERE event_id = 'orphaned'`);
    expect((await b.outbox.claim('replica-b', 10, LEASE_MS)).map((item) => item.eventId)).toEqual(['orphaned']);
    expect(await a.outbox.release('orphaned', 'replica-a', 'too late')).toBe(false);

    await b.outbox.markSent('failed', AT);
    await b.outbox.markSent('orphaned', AT);
    expect(await a.outbox.countPending()).toBe(0);
    expect(await a.outbox.claim('replica-a', 10, 1)).toEqual([]);
  });

  it("pending is the rows this store's replica is to publish: its own claims again, never another's; a failed publish frees the row", async () => {
    const { a, b } = stores();
    for (const [i, id] of ['one', 'two', 'three'].entries()) await emitted(a, id, `2026-12-02T10:00:0${i}.000Z`);
    expect((await a.outbox.pending(2)).map((item) => item.eventId)).toEqual(['one', 'two']);
    expect((await b.outbox.pending(10)).map((item) => item.eventId)).toEqual(['three']);
    // A publish cut short (no markSent, no markFailed): the rows come back to their replica only.
    expect((await a.outbox.pending(10)).map((item) => item.eventId)).toEqual(['one', 'two']);
    expect((await b.outbox.pending(10)).map((item) => item.eventId)).toEqual(['three']);
    expect((await a.outbox.unsent(10)).map((item) => item.eventId)).toEqual(['one', 'two', 'three']);

    await a.outbox.markSent('one', AT);
    await a.outbox.markFailed('two', 'broker closed the channel');
    expect((await b.outbox.pending(10))[0]).toEqual({ eventId: 'two', routingKey: 'org.example.relengd.compose.finished', createdAt: '2026-12-02T10:00:01.000Z', attempts: 1, lastError: 'broker closed the channel' });
    expect(await a.outbox.pending(10)).toEqual([]);
    expect(await a.outbox.countPending()).toBe(2);
  });
});
