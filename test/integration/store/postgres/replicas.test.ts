import { describe, expect, it } from 'vitest';
import { DISPATCHER_LEASE, LeaseLostError } from '../../../../src/store/postgres/index.ts';
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
    await a.replicas.register({ id: 'replica-a', host: 'node-1', pid: 101 });
    await b.replicas.register({ id: 'replica-b', host: 'node-2', pid: 202 });
    await a.leases.acquire(DISPATCHER_LEASE, 'replica-a', 30_000);
    await a.jobs.insert({ id: 'compose-1', kind: 'compose', queueKey: 'ref', spec: {}, causeEventId: 'e', correlationId: 'e', listener: 'composer' }, AT);
    await a.jobs.claimNext(AT, () => '/log', { replicaId: 'replica-a', leaseMs: 30_000 });
    await a.db.query(`UPDATE replicas SET heartbeat_at = now() - interval '10 seconds' WHERE id = 'replica-b'`);
    expect(await b.replicas.heartbeat('replica-a')).toBe(true);

    const listed = await b.replicas.list();
    expect(listed.map((r) => r.id)).toEqual(['replica-a', 'replica-b']);
    expect(listed[0]).toMatchObject({ host: 'node-1', pid: 101, leases: { named: [DISPATCHER_LEASE], jobs: ['compose-1'], outbox: 0 } });
    expect(listed[1]).toMatchObject({ host: 'node-2', pid: 202, leases: { named: [], jobs: [], outbox: 0 } });
    expect(listed[1]!.heartbeatAgeMs).toBeGreaterThanOrEqual(10_000);

    await a.replicas.remove('replica-a');
    expect((await b.replicas.list()).map((r) => r.id)).toEqual(['replica-b']);
    expect(await b.leases.acquire(DISPATCHER_LEASE, 'replica-b', 30_000)).toBe(true);
    expect(await b.jobs.claimNext(AT, () => '/log', { replicaId: 'replica-b', leaseMs: 30_000 })).toMatchObject({ id: 'compose-1', reclaimedFrom: 'replica-a', attempts: 2 });
    expect(await b.replicas.heartbeat('replica-a')).toBe(false);
  });
});
