import { describe, expect, it } from 'vitest';
import { WakeChannel } from '../../../../src/store/postgres/index.ts';
import { postgresMissingReason, titled, useReplicaStores } from '../../../helpers/postgres.ts';

/**
 * Listens on `channel`; resolves once the LISTEN is in effect, with the payload of the next wake to
 * come (wrapped: an async function returning a bare promise would wait for it).
 */
async function nextWake(listen: (channel: string, cb: (payload: string) => void) => Promise<() => Promise<void>>, channel: string): Promise<{ woken: Promise<string> }> {
  let resolve!: (payload: string) => void;
  const woken = new Promise<string>((r) => (resolve = r));
  const stop = await listen(channel, (payload) => resolve(payload));
  return { woken: woken.finally(() => void stop()) };
}

describe.skipIf(postgresMissingReason !== null)(titled('PostgreSQL LISTEN/NOTIFY wake-ups'), () => {
  const stores = useReplicaStores();

  it("wakes another replica's listener", async () => {
    const { a, b } = stores();
    const { woken } = await nextWake((c, cb) => a.onWake(c, cb), WakeChannel.jobs);
    await b.wake(WakeChannel.jobs, 'compose-1');
    expect(await woken).toBe('compose-1');
  });

  it('wakes only when the transaction that sent it commits', async () => {
    const { a, b } = stores();
    const { woken } = await nextWake((c, cb) => a.onWake(c, cb), WakeChannel.events);
    await expect(
      b.transaction(async () => {
        await b.wake(WakeChannel.events, 'rolled back');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await b.transaction(async () => {
      await b.wake(WakeChannel.events, 'committed');
    });
    // Notifications arrive in commit order: had the rolled-back one been sent, it would come first.
    expect(await woken).toBe('committed');
  });

  it('refuses a channel name LISTEN could not take as it is', async () => {
    const { a } = stores();
    await expect(a.wake('relengd; DROP TABLE jobs')).rejects.toThrow(/not a wake channel/);
    await expect(a.onWake('Relengd', () => undefined)).rejects.toThrow(/not a wake channel/);
  });

  it('wakes on a new event, job or outbox row, and not on a duplicate', async () => {
    const { a, b } = stores();
    const at = '2026-12-02T10:00:00.000Z';
    const e = { id: 'e1', topic: 't', prefix: '', type: 't', source: 's', time: at, correlationid: 'e1', headers: {}, data: {}, known: false };
    const events = await nextWake((c, cb) => a.onWake(c, cb), WakeChannel.events);
    const jobs = await nextWake((c, cb) => a.onWake(c, cb), WakeChannel.jobs);
    const outbox = await nextWake((c, cb) => a.onWake(c, cb), WakeChannel.outbox);
    await b.transaction(async () => {
      await b.events.insert(e, { origin: 'emitted', transport: 'relengd', receivedAt: at });
      await b.outbox.add('e1', 'relengd.t', at);
    });
    await b.jobs.insert({ id: 'j1', kind: 'compose', queueKey: 'ref', spec: {}, causeEventId: 'e1', correlationId: 'e1', listener: 'l' }, at);
    expect(await Promise.all([events.woken, jobs.woken, outbox.woken])).toEqual(['', '', '']);

    const again = await nextWake((c, cb) => a.onWake(c, cb), WakeChannel.events);
    expect(await b.events.insert(e, { origin: 'emitted', transport: 'relengd', receivedAt: at })).toBe(false);
    await b.wake(WakeChannel.events, 'after the duplicate');
    // In order: a wake from the duplicate would have come first.
    expect(await again.woken).toBe('after the duplicate');
  });

  it('listens again after losing its connection, and tells each listener to look for work it may have missed', async () => {
    const { a, b } = stores();
    const calls: string[] = [];
    let onCall!: () => void;
    let called = new Promise<void>((r) => (onCall = r));
    const stop = await a.onWake(WakeChannel.outbox, (payload) => (calls.push(payload), onCall()));
    await b.wake(WakeChannel.outbox, 'before');
    await called;

    called = new Promise<void>((r) => (onCall = r));
    const { rows } = await b.db.query<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'relengd-wake' AND datname = current_database()`,
    );
    expect(rows).toEqual([{ killed: true }]);
    await called; // the reconnect's "you may have missed some"
    expect(calls).toEqual(['before', '']);

    called = new Promise<void>((r) => (onCall = r));
    await b.wake(WakeChannel.outbox, 'after');
    await called;
    expect(calls).toEqual(['before', '', 'after']);
    await stop();
  });
});
