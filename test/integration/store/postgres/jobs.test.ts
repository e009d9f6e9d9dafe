import { describe, expect, it } from 'vitest';
import type { JobRow, NewJobRow } from '../../../../src/store/jobs.ts';
import { LeaseLostError, type ClaimedJob, type PostgresStore } from '../../../../src/store/postgres/index.ts';
import { postgresMissingReason, titled, useReplicaStores } from '../../../helpers/postgres.ts';

const AT = '2026-12-02T10:00:00.000Z';
const LEASE_MS = 60_000;

function job(id: string, queueKey: string, kind = 'compose'): NewJobRow {
  return { id, kind, queueKey, spec: { composeId: `c-${id}`, stream: queueKey }, causeEventId: `cause-${id}`, correlationId: 'corr', listener: 'composer' };
}

const logPathFor = (j: JobRow): string => `/var/log/relengd/jobs/${j.id}.log`;

/** A claim for the store's replica (each store is one: `replicaId`, `leaseMs`). */
function claim(store: PostgresStore, onlyKinds?: readonly string[]): Promise<ClaimedJob | undefined> {
  return store.jobs.claimNext(AT, logPathFor, onlyKinds);
}

describe.skipIf(postgresMissingReason !== null)(titled('PostgreSQL jobs across replicas'), () => {
  const stores = useReplicaStores();

  it('two replicas claiming at once never get the same job, nor two jobs of one queue key', async () => {
    const { a, b } = stores();
    // 6 refs, 5 jobs queued on each, inserted interleaved (created_at orders them within a ref).
    const keys = Array.from({ length: 6 }, (_, k) => `fedora/26/x86_64/ref-${k}`);
    for (let n = 0; n < 5; n++) for (const key of keys) await a.jobs.insert(job(`${key}#${n}`, key), `2026-12-02T10:00:0${n}.000Z`);

    const seen: ClaimedJob[] = [];
    for (let round = 0; round < 5; round++) {
      // Far more claims in flight than there are refs, half on each replica's pool.
      const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? claim(a) : claim(b))));
      const claimed = claims.filter((c): c is ClaimedJob => c !== undefined);
      // One job per ref, and it is that ref's oldest not yet run.
      expect(claimed.map((c) => c.queueKey).sort()).toEqual([...keys].sort());
      expect(claimed.map((c) => c.id).sort()).toEqual(keys.map((key) => `${key}#${round}`).sort());
      for (const c of claimed) expect(c).toMatchObject({ state: 'running', attempts: 1, logPath: logPathFor(c), reclaimedFrom: null });
      seen.push(...claimed);
      // Nothing more to claim while every ref has its job running.
      expect(await claim(a)).toBeUndefined();
      for (const c of claimed) await (c.claimedBy === a.replicaId ? a : b).jobs.finish(c.id, { state: 'succeeded', result: { commit: c.id } }, AT);
    }
    expect(new Set(seen.map((c) => c.id)).size).toBe(30);
    expect(new Set(seen.map((c) => c.claimedBy))).toEqual(new Set([a.replicaId, b.replicaId]));
    expect(await b.jobs.countByState()).toEqual({ succeeded: 30 });
  });

  it("claims a job again when its replica's lease expired, counting the attempt; the old holder can no longer finish it", async () => {
    const { a, b } = stores();
    const ref = 'fedora/26/x86_64/updates/atomic-host';
    await a.jobs.insert(job('compose-1', ref), AT);
    await a.jobs.insert(job('compose-2', ref), '2026-12-02T10:00:01.000Z');
    const first = await claim(a);
    expect(first).toMatchObject({ id: 'compose-1', claimedBy: a.replicaId, attempts: 1 });

    // Lease alive: replica b finds nothing (compose-2 waits behind compose-1 on the same ref).
    expect(await claim(b)).toBeUndefined();
    expect(await a.jobs.heartbeat(a.replicaId, LEASE_MS)).toEqual(['compose-1']);

    // Replica a "dies": its lease runs out.
    await a.db.query(`UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = 'compose-1'`);
    const again = await claim(b);
    expect(again).toMatchObject({ id: 'compose-1', state: 'running', claimedBy: b.replicaId, reclaimedFrom: a.replicaId, attempts: 2 });
    expect(await claim(a)).toBeUndefined();

    // The old holder's heartbeat, requeue and outcome no longer touch it; its outcome's transaction fails.
    expect(await a.jobs.heartbeat(a.replicaId, LEASE_MS)).toEqual([]);
    await a.jobs.requeue('compose-1');
    expect(await a.jobs.get('compose-1')).toMatchObject({ state: 'running', attempts: 2 });
    await expect(a.jobs.finish('compose-1', { state: 'failed', error: 'late' }, AT)).rejects.toBeInstanceOf(LeaseLostError);
    await b.jobs.finish('compose-1', { state: 'succeeded' }, AT);
    expect(await a.jobs.get('compose-1')).toMatchObject({ state: 'succeeded', attempts: 2, error: null });
    expect(await claim(a)).toMatchObject({ id: 'compose-2', reclaimedFrom: null });
  });

  it('never reclaims a job its own replica still runs (a late renewal), and a start requeues only what has not ended', async () => {
    const { a, b } = stores();
    const ref = 'fedora/26/x86_64/updates/atomic-host';
    await a.jobs.insert(job('compose-1', ref), AT);
    expect(await claim(a)).toMatchObject({ id: 'compose-1', attempts: 1 });
    // a's renewal is late: a must not claim its own running job a second time; b may take it over.
    await a.db.query(`UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = 'compose-1'`);
    expect(await claim(a)).toBeUndefined();
    expect(await claim(b)).toMatchObject({ id: 'compose-1', attempts: 2, reclaimedFrom: a.replicaId });

    // A start's recovery: b's job runs under a live lease (left alone); one that ended is not queued again.
    expect(await a.jobs.requeueUnfinished('compose-1')).toBe(false);
    await b.jobs.finish('compose-1', { state: 'succeeded' }, AT);
    expect(await a.jobs.requeueUnfinished('compose-1')).toBe(false);
    expect(await a.jobs.get('compose-1')).toMatchObject({ state: 'succeeded', attempts: 2 });
  });

  it('renews the leases a replica holds; the claim honours onlyKinds', async () => {
    const { a, b } = stores();
    await a.jobs.insert(job('promote-1', 'group-a', 'promote'), AT);
    await a.jobs.insert(job('compose-1', 'ref-b', 'compose'), '2026-12-02T10:00:01.000Z');
    expect(await claim(a, ['compose'])).toMatchObject({ id: 'compose-1' });
    expect(await claim(a, [])).toBeUndefined();
    const before = (await b.jobs.leases())[0]!;
    await a.db.query(`UPDATE jobs SET lease_expires_at = now() + interval '1 second' WHERE id = 'compose-1'`);
    expect(await a.jobs.heartbeat(a.replicaId, LEASE_MS)).toEqual(['compose-1']);
    const after = (await b.jobs.leases())[0]!;
    expect(after).toMatchObject({ id: 'compose-1', claimedBy: a.replicaId, expired: false });
    expect(after.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + LEASE_MS / 2);
    expect(before.leaseExpiresAt).not.toBeNull();
    expect(await a.jobs.ofCompose('compose', 'c-compose-1', 'ref-b')).toMatchObject({ id: 'compose-1' });
  });

  it('refuses a second running job of one queue key even when written past the claim', async () => {
    const { a } = stores();
    await a.jobs.insert(job('j1', 'one-ref'), AT);
    await a.jobs.insert(job('j2', 'one-ref'), AT);
    await a.db.query(`UPDATE jobs SET state = 'running' WHERE id = 'j1'`);
    await expect(a.db.query(`UPDATE jobs SET state = 'running' WHERE id = 'j2'`)).rejects.toThrow(/jobs_one_running_per_key/);
  });
});
