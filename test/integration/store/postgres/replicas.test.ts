import { setTimeout } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DISPATCHER_LEASE, LeaseLostError, PostgresStore, type ReplicaBeat } from '../../../../src/store/postgres/index.ts';
import { postgresMissingReason, titled, useReplicaStores } from '../../../helpers/postgres.ts';

const AT = '2026-12-02T10:00:00.000Z';

describe.skipIf(postgresMissingReason !== null)(titled('PostgreSQL replicas and the dispatcher lease'), () => {
  const stores = useReplicaStores();

  it('lets one replica dispatch at a time, and another take over once its lease expired', async () => {
    const { a, b } = stores();
    const results = await Promise.all([a.leases.acquire(DISPATCHER_LEASE, 'replica-a', 30_000), b.leases.acquire(DISPATCHER_LEASE, 'replica-b', 30_000)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const [holder, other] = results[0] ? (['replica-a', 'replica-b'] as const) : (['replica-b', 'replica-a'] as const);
    const holderStore = holder === 'replica-a' ? a : b;
    const otherStore = holder === 'replica-a' ? b : a;

    expect(await holderStore.leases.acquire(DISPATCHER_LEASE, holder, 30_000)).toBe(true); // renewal
    await holderStore.transaction(() => holderStore.leases.assertHeld(DISPATCHER_LEASE, holder));
    await expect(otherStore.transaction(() => otherStore.leases.assertHeld(DISPATCHER_LEASE, other))).rejects.toBeInstanceOf(LeaseLostError);

    // The holder dies: its lease runs out and the other takes over; the old holder's writes are fenced off.
    await a.db.query(`UPDATE leases SET expires_at = now() - interval '1 second'`);
    expect(await otherStore.leases.acquire(DISPATCHER_LEASE, other, 30_000)).toBe(true);
    await expect(
      holderStore.transaction(async () => {
        await holderStore.state.put('dispatch', 'k', 'stale', AT, holder);
        await holderStore.leases.assertHeld(DISPATCHER_LEASE, holder);
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await otherStore.state.get('dispatch', 'k')).toBeUndefined();
    expect(await holderStore.leases.get(DISPATCHER_LEASE)).toMatchObject({ holder: other, expired: false });
  });

  it('lists each replica with its heartbeat and the leases it holds; a clean stop hands them over', async () => {
    const { a, b } = stores();
    await a.replicaTable.register({ id: a.replicaId, host: 'node-1', pid: 101 });
    await b.replicaTable.register({ id: b.replicaId, host: 'node-2', pid: 202 });
    await a.leases.acquire(DISPATCHER_LEASE, a.replicaId, 30_000);
    await a.jobs.insert({ id: 'compose-1', kind: 'compose', queueKey: 'ref', spec: {}, causeEventId: 'e', correlationId: 'e', listener: 'composer' }, AT);
    await a.jobs.claimNext(AT, () => '/log');
    await a.db.query(`UPDATE replicas SET heartbeat_at = now() - interval '40 seconds' WHERE id = $1`, [b.replicaId]);
    expect(await b.replicaTable.heartbeat(a.replicaId)).toBe(true);

    const listed = await b.replicaTable.list();
    expect(listed.map((r) => r.id)).toEqual([a.replicaId, b.replicaId]);
    expect(listed[0]).toMatchObject({ host: 'node-1', pid: 101, leases: { named: [DISPATCHER_LEASE], jobs: ['compose-1'], outbox: 0 } });
    expect(listed[1]).toMatchObject({ host: 'node-2', pid: 202, leases: { named: [], jobs: [], outbox: 0 } });
    expect(listed[1]!.heartbeatAgeMs).toBeGreaterThanOrEqual(40_000);
    // The same through the store API's view (stale: older than the 30 s lease).
    expect(await b.replicas.list()).toEqual([
      expect.objectContaining({ id: a.replicaId, host: 'node-1', stale: false, jobLeases: 1, dispatching: true }),
      expect.objectContaining({ id: b.replicaId, host: 'node-2', stale: true, jobLeases: 0, dispatching: false }),
    ]);

    await a.replicaTable.remove(a.replicaId);
    expect((await b.replicaTable.list()).map((r) => r.id)).toEqual([b.replicaId]);
    expect(await b.replicas.takeDispatchTurn()).toBe(true);
    expect(await a.replicas.takeDispatchTurn()).toBe(false);
    await b.transaction(() => b.replicas.assertDispatchTurn());
    await expect(a.transaction(() => a.replicas.assertDispatchTurn())).rejects.toBeInstanceOf(LeaseLostError);
    expect(await b.jobs.claimNext(AT, () => '/log')).toMatchObject({ id: 'compose-1', reclaimedFrom: a.replicaId, attempts: 2 });
    expect(await b.replicaTable.heartbeat(a.replicaId)).toBe(false);
  });

  it('forgets, as a replica starts, the replicas silent for more than a day; one silent for an hour stays listed, stale', async () => {
    const { a, url } = stores();
    await a.replicaTable.register({ id: 'killed-yesterday', host: 'node-1', pid: 101 });
    await a.replicaTable.register({ id: 'killed-an-hour-ago', host: 'node-2', pid: 202 });
    await a.db.query(`UPDATE replicas SET heartbeat_at = now() - interval '25 hours' WHERE id = 'killed-yesterday'`);
    await a.db.query(`UPDATE replicas SET heartbeat_at = now() - interval '1 hour' WHERE id = 'killed-an-hour-ago'`);
    const starting = await PostgresStore.open(url, { replicaId: 'starting', leaseMs: 30_000 });
    try {
      await starting.replicas.start();
      expect((await starting.replicas.list()).map((r) => [r.id, r.stale])).toEqual([
        ['starting', false],
        ['killed-an-hour-ago', true],
      ]);
      // One that comes back after all registers again at its next heartbeat.
      expect(await a.replicaTable.heartbeat('killed-yesterday')).toBe(false);
    } finally {
      await starting.close();
    }
  });

  it("keeps a live replica's job, and queues a dead replica's job again for another once its lease ran out", async () => {
    const { url } = stores();
    // Short leases, so the test waits about a second, gated on what the database shows. The live
    // replica's is longer than the others': a busy machine delaying its renewals must not end it.
    const live = await PostgresStore.open(url, { replicaId: 'live', leaseMs: 1500 });
    const dead = await PostgresStore.open(url, { replicaId: 'dead', leaseMs: 300 });
    const taker = await PostgresStore.open(url, { replicaId: 'taker', leaseMs: 300 });
    try {
      const beats: ReplicaBeat[] = [];
      const errors: unknown[] = [];
      await live.replicas.start({ onBeat: (beat) => beats.push(beat), onError: (error) => errors.push(error) });
      await taker.replicas.start({ onError: (error) => errors.push(error) });
      const newJob = (id: string, queueKey: string) => ({ id, kind: 'compose', queueKey, spec: {}, causeEventId: id, correlationId: id, listener: 'composer' });
      await live.jobs.insert(newJob('live-job', 'ref-live'), AT);
      expect(await live.jobs.claimNext(AT, () => '/log')).toMatchObject({ id: 'live-job', claimedBy: 'live' });
      // 'dead' claims without ever starting its heartbeat: it died right after the claim.
      await dead.jobs.insert(newJob('dead-job', 'ref-dead'), AT);
      expect(await dead.jobs.claimNext(AT, () => '/log')).toMatchObject({ id: 'dead-job', claimedBy: 'dead' });
      const firstExpiry = (await lease(live, 'live-job'))!;

      // Poll until the dead replica's job is queued again by the taker's renewals (bounded: 200 x 25 ms).
      let requeued = false;
      for (let i = 0; i < 200 && !requeued; i++) {
        requeued = (await taker.jobs.get('dead-job'))?.state === 'queued';
        if (!requeued) await setTimeout(25);
      }
      expect(requeued).toBe(true);
      expect(await taker.jobs.claimNext(AT, () => '/log')).toMatchObject({ id: 'dead-job', claimedBy: 'taker', attempts: 2, reclaimedFrom: null });

      // Meanwhile the live replica's lease was renewed past its first expiry, and its job stayed its own.
      for (let i = 0; i < 200 && (await lease(live, 'live-job'))! <= firstExpiry; i++) await setTimeout(25);
      expect((await lease(live, 'live-job'))!.getTime()).toBeGreaterThan(firstExpiry.getTime());
      expect(await taker.jobs.get('live-job')).toMatchObject({ state: 'running', attempts: 1 });
      expect(await taker.jobs.claimNext(AT, () => '/log')).toBeUndefined();
      // onBeat is called once the whole renewal is done, which may be after the lease was seen renewed.
      for (let i = 0; i < 200 && !beats.some((beat) => beat.jobs.includes('live-job')); i++) await setTimeout(25);
      expect(beats.some((beat) => beat.jobs.includes('live-job'))).toBe(true);
      expect((await taker.replicas.list()).map((r) => r.id).sort()).toEqual(['live', 'taker']);

      // A clean stop hands the live replica's job over at once.
      await live.replicas.stop();
      // The taker's own renewal runs meanwhile on its own connection: while its UPDATE holds the
      // row, a claim skips it (SKIP LOCKED), so claim until it is taken (bounded: 200 x 25 ms).
      let handedOver = await taker.jobs.claimNext(AT, () => '/log');
      for (let i = 0; i < 200 && !handedOver; i++) {
        await setTimeout(25);
        handedOver = await taker.jobs.claimNext(AT, () => '/log');
      }
      expect(handedOver).toMatchObject({ id: 'live-job', claimedBy: 'taker', attempts: 2 });
      // Taken from the ended lease by this claim ('live'), or queued again first by the taker's own
      // renewal (null): the same handover, and which one wins is a race.
      expect(['live', null]).toContain(handedOver!.reclaimedFrom);
      expect((await taker.replicas.list()).map((r) => r.id)).toEqual(['taker']);
      expect(errors).toEqual([]);
    } finally {
      await Promise.all([live.close(), dead.close(), taker.close()]);
    }
  });
  it("renews its job leases while its own dispatch batch keeps the dispatcher's turn locked (a long batch never lets its jobs' leases lapse)", async () => {
    const { url } = stores();
    const busy = await PostgresStore.open(url, { replicaId: 'dispatching', leaseMs: 600 });
    let endBatch: () => void = () => undefined;
    let batch: Promise<void> | undefined;
    try {
      const beats: ReplicaBeat[] = [];
      await busy.jobs.insert({ id: 'job', kind: 'compose', queueKey: 'ref', spec: {}, causeEventId: 'job', correlationId: 'job', listener: 'composer' }, AT);
      expect(await busy.jobs.claimNext(AT, () => '/log')).toMatchObject({ id: 'job' });
      // The turn taken by an earlier batch, committed: the renewals keep it.
      expect(await busy.replicas.takeDispatchTurn()).toBe(true);
      await busy.replicas.start({ onBeat: (beat) => beats.push(beat) });
      // The next dispatch batch: takes the turn again and keeps it locked (FOR SHARE) until it commits.
      let batchHoldsTurn: () => void = () => undefined;
      const holding = new Promise<void>((resolve) => (batchHoldsTurn = resolve));
      batch = busy.transaction(async () => {
        expect(await busy.replicas.takeDispatchTurn()).toBe(true);
        await busy.replicas.assertDispatchTurn();
        batchHoldsTurn();
        await new Promise<void>((resolve) => (endBatch = resolve));
      });
      await holding;
      const firstExpiry = (await lease(busy, 'job'))!;
      // Gated on the database (bounded: 400 x 25 ms): the job's lease moves on while the batch runs.
      for (let i = 0; i < 400 && (await lease(busy, 'job'))! <= firstExpiry; i++) await setTimeout(25);
      expect((await lease(busy, 'job'))!.getTime()).toBeGreaterThan(firstExpiry.getTime());
      const during = beats.length;
      for (let i = 0; i < 400 && beats.length < during + 2; i++) await setTimeout(25);
      expect(beats.slice(during).every((beat) => beat.jobs.includes('job'))).toBe(true);
      expect(beats.length).toBeGreaterThanOrEqual(during + 2);
    } finally {
      endBatch();
      await batch;
      await busy.close();
    }
  });

  it('renews its job leases while every connection of its pool is taken (a renewal never waits behind intake or dispatch)', async () => {
    const { url } = stores();
    const busy = await PostgresStore.open(url, { replicaId: 'busy', leaseMs: 600, maxConnections: 2 });
    const held: Array<{ release: () => void }> = [];
    try {
      const beats: ReplicaBeat[] = [];
      await busy.jobs.insert({ id: 'job', kind: 'compose', queueKey: 'ref', spec: {}, causeEventId: 'job', correlationId: 'job', listener: 'composer' }, AT);
      expect(await busy.jobs.claimNext(AT, () => '/log')).toMatchObject({ id: 'job', claimedBy: 'busy' });
      await busy.replicas.start({ onBeat: (beat) => beats.push(beat) });
      // Every pooled connection is checked out and kept: whatever needs the pool now waits.
      held.push(await busy.db.connect(), await busy.db.connect());
      const before = beats.length;
      // Gated on what the replica reports (bounded: 400 x 25 ms), not on a fixed wait.
      for (let i = 0; i < 400 && !beats.slice(before).some((beat) => beat.jobs.includes('job')); i++) await setTimeout(25);
      expect(beats.slice(before).some((beat) => beat.jobs.includes('job'))).toBe(true);
    } finally {
      for (const client of held) client.release();
      await busy.close();
    }
  });
});

async function lease(store: PostgresStore, jobId: string): Promise<Date | null> {
  const { rows } = await store.db.query<{ lease_expires_at: Date | null }>('SELECT lease_expires_at FROM jobs WHERE id = $1', [jobId]);
  return rows[0]?.lease_expires_at ?? null;
}
