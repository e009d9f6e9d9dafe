import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../../src/events/envelope.ts';
import { withTransaction, type PostgresStore } from '../../../../src/store/postgres/index.ts';
import { postgresMissingReason, titled, useReplicaStores } from '../../../helpers/postgres.ts';

const AT = '2026-12-02T10:00:00.000Z';

const event = (id: string): Envelope => ({ id, topic: 'bodhi.compose.complete', prefix: '', type: 'bodhi.compose.complete', source: 'bodhi', time: AT, correlationid: id, headers: {}, data: { id }, known: true });

/** What a dispatch of one event writes: the event done, a job, listener state, an emitted event and its outbox row. */
async function decide(store: PostgresStore, id: string): Promise<void> {
  await store.events.insert(event(id), { origin: 'inbound', transport: 'amqp', receivedAt: AT });
  await store.jobs.insert({ id: `job-${id}`, kind: 'compose', queueKey: `ref-${id}`, spec: {}, causeEventId: id, correlationId: id, listener: 'composer' }, AT);
  await store.state.put('compose-queue', `ref-${id}`, { queued: `job-${id}` }, AT, 'composer');
  await store.events.insert(event(`${id}.requested`), { origin: 'emitted', transport: 'relengd', receivedAt: AT });
  await store.outbox.add(`${id}.requested`, 'relengd.ostree.compose.requested', AT);
}

async function written(store: PostgresStore, id: string): Promise<boolean[]> {
  return [
    await store.events.has(id),
    (await store.jobs.get(`job-${id}`)) !== undefined,
    (await store.state.get('compose-queue', `ref-${id}`)) !== undefined,
    await store.events.has(`${id}.requested`),
    (await store.outbox.unsent(10)).some((item) => item.eventId === `${id}.requested`),
  ];
}

describe.skipIf(postgresMissingReason !== null)(titled('PostgreSQL transactions'), () => {
  const stores = useReplicaStores();

  it("commits all of a transaction's writes or none of them", async () => {
    const { a, b } = stores();
    await expect(
      a.transaction(async () => {
        await decide(a, 'e1');
        // Inside, the transaction sees its own writes; another replica does not.
        expect(await written(a, 'e1')).toEqual([true, true, true, true, true]);
        expect(await written(b, 'e1')).toEqual([false, false, false, false, false]);
        throw new Error('listener failed');
      }),
    ).rejects.toThrow('listener failed');
    expect(await written(b, 'e1')).toEqual([false, false, false, false, false]);

    await withTransaction(a.db, () => decide(a, 'e2'));
    expect(await written(b, 'e2')).toEqual([true, true, true, true, true]);
  });

  it('undoes only a failed savepoint, and a failed statement inside one leaves the transaction usable', async () => {
    const { a, b } = stores();
    await a.transaction(async () => {
      await decide(a, 'outer');
      await expect(
        a.savepoint(async () => {
          await decide(a, 'inner');
          await a.db.query('SELECT no_such_column FROM jobs');
        }),
      ).rejects.toThrow(/no_such_column/);
      await a.state.put('after', 'k', 1, AT, 'test');
    });
    expect(await written(b, 'outer')).toEqual([true, true, true, true, true]);
    expect(await written(b, 'inner')).toEqual([false, false, false, false, false]);
    expect(await b.state.get('after', 'k')).toBe(1);
  });

  it('rolls a dry run back, inside a transaction too, and returns what it would have done', async () => {
    const { a, b } = stores();
    expect(await a.dryRun(async () => (await decide(a, 'dry'), await written(a, 'dry')))).toEqual([true, true, true, true, true]);
    expect(await written(b, 'dry')).toEqual([false, false, false, false, false]);
    await a.transaction(async () => {
      await decide(a, 'kept');
      expect(await a.dryRun(async () => (await a.state.put('dry', 'k', 1, AT, 'test'), a.state.get('dry', 'k')))).toBe(1);
    });
    expect(await written(b, 'kept')).toEqual([true, true, true, true, true]);
    expect(await b.state.get('dry', 'k')).toBeUndefined();
  });
});
