/**
 * Issue 11: two and three replicas (relengd processes on one PostgreSQL database, competing
 * consumers of one AMQP queue, one OSTree repository) run the two-week story end to end, and a
 * replica SIGKILLed mid-compose or mid-promotion changes nothing in the outcome: another replica
 * takes its job once the dead one's lease (store.leaseSeconds: 3) lapses and finishes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_ARCHES, DEMO_VERSION } from '../../src/cli/demo/scenario.ts';
import { brokerMissingReason } from '../integration/amqp/broker.ts';
import { postgresMissingReason } from '../helpers/postgres.ts';
import { runCli } from '../helpers/process.ts';
import { ReplicaCluster, until, type JobRow } from '../helpers/replicas.ts';
import { tempDir } from '../helpers/tmp.ts';

const missing = postgresMissingReason ?? brokerMissingReason;
const title = (t: string) => (missing === null ? t : `${t} (skipped: ${missing})`);

let cluster: ReplicaCluster | undefined;
afterEach(async () => {
  // What the replicas logged at warn or above: a failover is expected to say so, anything else is worth reading.
  const warnings = cluster?.logWarnings() ?? [];
  if (warnings.length > 0) console.log(`replica logs (warn and above):\n${warnings.join('\n')}`);
  await cluster?.dispose();
  cluster = undefined;
});

const composeRef = (arch: string) => `fedora/26/${arch}/updates/atomic-host`;
const releaseRef = (arch: string) => `fedora/26/${arch}/atomic-host`;

/** Bodhi's push, then both composes finished and everything quiet. */
async function composeBoth(c: ReplicaCluster): Promise<void> {
  await c.publish(0);
  await c.settle('both composes finished', async () => (await c.events('relengd.compose.finished')).length >= 2);
}

/** Greenwave's decision, then the release promoted and everything quiet. */
async function promote(c: ReplicaCluster): Promise<void> {
  await c.publish(2);
  await c.settle('the release promoted', async () => (await c.events('relengd.release.promoted')).length >= 1);
}

/** The single-process run's outcome (test/e2e/two-week-pipeline.test.ts, the demo): each compose and the promotion once, every ref where the events say. */
async function expectStoryOutcome(c: ReplicaCluster): Promise<void> {
  const composes = await c.events('relengd.ostree.compose.finished');
  expect(composes.map((e) => [e.stream, e.version]).sort()).toEqual(DEMO_ARCHES.map((a) => [`f26-atomic-host-${a}`, DEMO_VERSION]).sort());
  const finished = await c.events('relengd.compose.finished');
  expect(finished.map((e) => [e.stream, e.version, e.status]).sort()).toEqual(DEMO_ARCHES.map((a) => [`f26-atomic-host-${a}`, DEMO_VERSION, 'FINISHED']).sort());
  for (const arch of DEMO_ARCHES) {
    const head = await c.repo.revParse(composeRef(arch));
    expect(head, composeRef(arch)).not.toBeNull();
    // Exactly one commit for the version: the ref's whole history is that one commit.
    const log = await c.repo.log(head!);
    expect(log, `${composeRef(arch)} history`).toHaveLength(1);
    expect(await c.repo.metadata(head!, 'version')).toBe(DEMO_VERSION);
    expect(composes.find((e) => e.stream === `f26-atomic-host-${arch}`)?.commit).toBe(head);
  }
  const promoted = await c.events('relengd.release.promoted');
  expect(promoted).toHaveLength(1);
  expect(promoted[0]).toMatchObject({ group: c.group, version: DEMO_VERSION });
  const refs = promoted[0]!.refs as Array<{ ref: string; from: string | null; to: string }>;
  expect(refs.map((r) => r.ref).sort()).toEqual(DEMO_ARCHES.map(releaseRef).sort());
  for (const r of refs) {
    expect(r.from).toBeNull();
    expect(await c.repo.revParse(r.ref)).toBe(r.to);
    // The release commit re-commits the compose's tree, naming it; its history is that one commit (the ref moved once).
    expect(await c.repo.metadata(r.to, 'relengd.source-commit')).toBe(await c.repo.revParse(composeRef(r.ref.split('/')[2]!)));
    expect(await c.repo.log(r.to)).toHaveLength(1);
  }
  expect(await c.events('relengd.release.promotion.refused')).toEqual([]);
  const promotions = await c.jobs('promote');
  expect(promotions.map((j) => j.state)).toEqual(['succeeded']);
}

/** The running job of `kind` matching `pick`, once some replica claimed it. */
function runningJob(c: ReplicaCluster, kind: string, pick: (j: JobRow) => boolean = () => true): Promise<JobRow> {
  return until(`a running ${kind} job`, async () => (await c.jobs(kind)).find((j) => j.state === 'running' && j.claimed_by !== null && pick(j)));
}

/** Kills the replica holding `job`; resolves with the ms from its death until another replica has the job running. */
async function killAndTimeFailover(c: ReplicaCluster, job: JobRow): Promise<{ victim: string; resumedBy: string; ms: number }> {
  const victim = job.claimed_by!;
  const replica = await c.replicaById(victim);
  await replica.killTree();
  const died = Date.now();
  const resumed = await until(`job ${job.id} resumed by another replica`, async () => {
    const [row] = await c.query<JobRow>('SELECT id, kind, state, claimed_by, attempts, spec FROM jobs WHERE id = $1', [job.id]);
    if (row && row.claimed_by !== null && row.claimed_by !== victim && (row.state === 'running' || row.state === 'succeeded')) return row;
    return undefined;
  }, 30_000, 50);
  return { victim, resumedBy: resumed.claimed_by!, ms: Date.now() - died };
}

describe.skipIf(missing !== null)(title('replicas on PostgreSQL run the two-week story'), () => {
  it('two replicas: the outcome is a single process\'s (each compose and the promotion once, refs as announced)', { timeout: 60_000 }, async () => {
    cluster = await ReplicaCluster.start(tempDir(), { replicas: 2 });
    await composeBoth(cluster);
    await promote(cluster);
    await expectStoryOutcome(cluster);
    expect((await cluster.query<{ n: string }>('SELECT count(*) AS n FROM replicas'))[0]!.n).toBe('2');
  });

  it('three replicas: the one composing is SIGKILLed mid-compose; another finishes it, one commit, compose.finished once', { timeout: 60_000 }, async () => {
    cluster = await ReplicaCluster.start(tempDir(), { replicas: 3, composeDelaySeconds: 3 });
    await cluster.publish(0);
    const job = await runningJob(cluster, 'compose', (j) => j.spec.includes('x86_64'));
    // Mid-compose: the stand-in is in its delay, nothing committed yet.
    expect(await cluster.repo.revParse(composeRef('x86_64'))).toBeNull();
    const failover = await killAndTimeFailover(cluster, job);
    // Still nothing committed after the kill: it did die mid-compose.
    expect(await cluster.repo.revParse(composeRef('x86_64'))).toBeNull();
    expect(failover.ms).toBeLessThan(10_000);
    console.log(`mid-compose kill: ${failover.victim}'s compose ${job.id} resumed on ${failover.resumedBy} ${failover.ms} ms after the kill (leaseSeconds 3)`);
    await cluster.settle('both composes finished', async () => (await cluster!.events('relengd.compose.finished')).length >= 2);
    await promote(cluster);
    await expectStoryOutcome(cluster);
    const [compose] = await cluster.query<JobRow>('SELECT id, kind, state, claimed_by, attempts, spec FROM jobs WHERE id = $1', [job.id]);
    expect(compose).toMatchObject({ state: 'succeeded', claimed_by: failover.resumedBy });
    expect(compose!.attempts).toBeGreaterThanOrEqual(2);
    // What an operator sees: three replicas registered, the killed one stale and holding nothing.
    const live = cluster.replicas.findIndex((r) => r.pid !== undefined);
    const status = await runCli(['--config', cluster.configFile(live), 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const replicas = (JSON.parse(status.stdout) as { replicas: Array<{ id: string; stale: boolean; jobLeases: number }> }).replicas;
    expect(replicas.map((r) => [r.id, r.stale]).sort()).toEqual((await cluster.query<{ id: string }>('SELECT id FROM replicas')).map((r) => [r.id, r.id === failover.victim]).sort());
    expect(replicas).toHaveLength(3);
    expect(replicas.find((r) => r.id === failover.victim)?.jobLeases).toBe(0);
  });

  it('two replicas: the one promoting is SIGKILLed after the refs moved, before the job finished; another finishes it, refs moved once', { timeout: 60_000 }, async () => {
    cluster = await ReplicaCluster.start(tempDir(), { replicas: 2, summaryHold: true });
    await composeBoth(cluster);
    // The promotion's first `ostree summary` (after it moved the refs) sleeps until the kill.
    cluster.armSummaryHold();
    await cluster.publish(2);
    const job = await runningJob(cluster, 'promote');
    const c = cluster;
    await until('the promotion held in ostree summary, refs moved', async () => {
      if (!c.summaryHeld()) return undefined;
      const moved = await Promise.all(DEMO_ARCHES.map((a) => c.repo.revParse(releaseRef(a))));
      return moved.every((r) => r !== null) ? moved : undefined;
    });
    const movedBeforeKill = await Promise.all(DEMO_ARCHES.map((a) => c.repo.revParse(releaseRef(a))));
    expect(await cluster.events('relengd.release.promoted')).toEqual([]);
    expect((await cluster.jobs('promote')).map((j) => [j.state, j.claimed_by])).toEqual([['running', job.claimed_by]]);
    const failover = await killAndTimeFailover(cluster, job);
    expect(failover.ms).toBeLessThan(10_000);
    console.log(`mid-promotion kill: ${failover.victim}'s promotion ${job.id} resumed on ${failover.resumedBy} ${failover.ms} ms after the kill (leaseSeconds 3)`);
    await cluster.settle('the release promoted', async () => (await cluster!.events('relengd.release.promoted')).length >= 1);
    await expectStoryOutcome(cluster);
    // The resumed attempt finished the first one's plan: the refs are where they were moved before the kill, not moved again.
    expect(await Promise.all(DEMO_ARCHES.map((a) => c.repo.revParse(releaseRef(a))))).toEqual(movedBeforeKill);
  });
});
