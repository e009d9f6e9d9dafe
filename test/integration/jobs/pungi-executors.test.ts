/**
 * The Pungi path's effects on real OSTree repositories: the pungi-commit job finds (or refuses) a
 * commit Pungi announced in the compose repository, and the promote job pulls a candidate from
 * the compose repository into the public one before moving its release ref, all arches or none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobOutcome } from '../../../src/jobs/executor.ts';
import { promoteExecutor } from '../../../src/jobs/executors/promote.ts';
import { pungiCommitExecutor } from '../../../src/jobs/executors/pungi-commit.ts';
import type { PromoteJobSpec, PungiCommitJobSpec } from '../../../src/jobs/specs.ts';
import { openRepo, type OstreeRepo } from '../../../src/ostree/index.ts';
import { commitObjectCount, executorContext, newWorkdir, summaryRefs } from '../../helpers/executor-context.ts';
import { NIGHTLY, nightlyRef, pungiCommitIn, releaseRef } from '../../helpers/pungi.ts';

const ARCHES = ['x86_64', 'aarch64'] as const;
type Arch = (typeof ARCHES)[number];

let tmp: string;
let compose: OstreeRepo;
let pub: OstreeRepo;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-pungi-jobs-'));
  compose = openRepo(join(tmp, 'compose-repo'));
  pub = openRepo(join(tmp, 'repo'));
  await compose.init('archive');
  await pub.init('archive');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** What Pungi's ostree phase leaves in the compose repo. */
const pungiCommit = (arch: Arch, version: string, opts: Parameters<typeof pungiCommitIn>[4] = {}): Promise<string> => pungiCommitIn(compose, join(tmp, 'trees'), arch, version, opts);

async function run(executor: ReturnType<typeof pungiCommitExecutor> | ReturnType<typeof promoteExecutor>, kind: string, spec: unknown): Promise<JobOutcome> {
  return executor.execute(executorContext({ kind, spec, workdir: newWorkdir(tmp) }));
}

describe('pungi-commit job', { timeout: 60_000 }, () => {
  const executor = pungiCommitExecutor({ openRepo: (path) => openRepo(path) });
  const spec = (commit: string, overrides: Partial<PungiCommitJobSpec> = {}): PungiCommitJobSpec => ({
    composeId: 'arch-compose-1',
    pungiComposeId: NIGHTLY,
    stream: 'f26-atomic-host-x86_64',
    ref: nightlyRef('x86_64'),
    repo: compose.path,
    commit,
    version: NIGHTLY,
    causes: [{ id: 'pungi-msg-1', topic: 'pungi.compose.ostree' }],
    ...overrides,
  });

  it("announces the stream's compose when the commit is in the compose repo on the stream's ref", async () => {
    const parent = await pungiCommit('x86_64', '26.20170704.n.0');
    const commit = await pungiCommit('x86_64', '26.20170705.n.0');
    const outcome = await run(executor, 'pungi-commit', spec(commit));
    expect(outcome.state).toBe('succeeded');
    expect(outcome.emit).toEqual([
      {
        topic: 'relengd.ostree.compose.finished',
        key: 'finished',
        subject: nightlyRef('x86_64'),
        data: { composeId: 'arch-compose-1', causes: [{ id: 'pungi-msg-1', topic: 'pungi.compose.ostree' }], stream: 'f26-atomic-host-x86_64', ref: nightlyRef('x86_64'), commit, parent, version: NIGHTLY, duration: 0, pungiComposeId: NIGHTLY },
      },
    ]);
  });

  it('takes an unbound commit that is on the ref, even after the ref moved on', async () => {
    const commit = await pungiCommit('x86_64', '1', { orphan: true });
    await compose.setRef(nightlyRef('x86_64'), commit);
    const later = await pungiCommit('x86_64', '2', { orphan: true, parent: commit });
    await compose.compareAndSetRef(nightlyRef('x86_64'), commit, later);
    expect((await run(executor, 'pungi-commit', spec(commit))).state).toBe('succeeded');
  });

  it.each([
    ['not in the compose repo', async () => 'e'.repeat(64), (c: string) => `commit ${c} is not in the compose repository ${join(tmp, 'compose-repo')}`],
    ['bound to another ref', async () => pungiCommit('x86_64', '1', { branch: 'fedora/26/x86_64/workstation' }), (c: string) => `commit ${c} is bound to fedora/26/x86_64/workstation, not to the stream's ref ${nightlyRef('x86_64')}`],
    ['unbound and on no ref', async () => pungiCommit('x86_64', '1', { orphan: true }), (c: string) => `commit ${c} is not on ${nightlyRef('x86_64')} in the compose repository ${join(tmp, 'compose-repo')} (no such ref)`],
  ])('refuses a commit %s, saying so in ostree.compose.failed', async (_, make, why) => {
    const commit = await make();
    const outcome = await run(executor, 'pungi-commit', spec(commit));
    expect(outcome.state).toBe('failed');
    expect(outcome.emit).toMatchObject([{ topic: 'relengd.ostree.compose.failed', data: { composeId: 'arch-compose-1', error: why(commit), pungiComposeId: NIGHTLY } }]);
  });

  it('refuses when the compose repository does not exist', async () => {
    const outcome = await run(executor, 'pungi-commit', spec('e'.repeat(64), { repo: join(tmp, 'nowhere') }));
    expect(outcome.emit).toMatchObject([{ topic: 'relengd.ostree.compose.failed', data: { error: `the compose repository ${join(tmp, 'nowhere')} does not exist` } }]);
  });
});

describe('promote job from a compose repository', { timeout: 120_000 }, () => {
  const executor = promoteExecutor({ openRepo: (path) => openRepo(path), generator: 'relengd (test)' });
  const spec = (version: string, commits: Record<Arch, string>, overrides: Partial<PromoteJobSpec> = {}): PromoteJobSpec => ({
    group: 'f26-atomic-host',
    version,
    force: false,
    requestedBy: null,
    targets: ARCHES.map((arch) => ({ arch, stream: `f26-atomic-host-${arch}`, repo: pub.path, sourceRef: nightlyRef(arch), ref: releaseRef(arch), commit: commits[arch], composeId: version, artifacts: [], pullFrom: compose.path })),
    summary: { gpgKey: null },
    deltas: true,
    metadata: null,
    baseUrl: null,
    ...overrides,
  });
  const nightly = async (n: number) => ({ x86_64: await pungiCommit('x86_64', `26.2017070${n}.n.0`), aarch64: await pungiCommit('aarch64', `26.2017070${n}.n.0`) });

  it("pulls every arch's commit into the public repo, then moves the release refs there, keeping Pungi's version", async () => {
    const c = await nightly(5);
    const outcome = await run(executor, 'promote', spec('Fedora-26-20170705.n.0', c));
    expect(outcome.state).toBe('succeeded');
    for (const arch of ARCHES) {
      expect(await pub.hasCommit(c[arch])).toBe(true);
      const released = (await pub.revParse(releaseRef(arch)))!;
      expect(await pub.sameTree(released, c[arch])).toBe(true);
      expect(await pub.refBindings(released)).toEqual([releaseRef(arch)]);
      expect(await pub.metadata(released, 'version')).toBe('26.20170705.n.0');
      expect(summaryRefs(pub.path)[releaseRef(arch)]).toBe(released);
    }
    // Pungi's ref stays Pungi's: nothing is written in the compose repo.
    expect(await compose.refs()).toEqual([nightlyRef('aarch64'), nightlyRef('x86_64')]);
    expect(await pub.revParse(nightlyRef('x86_64'))).toBeNull();
  });

  it("checks fast-forward against the candidate's history in the compose repo, which the public repo lacks", async () => {
    const first = await nightly(5);
    expect((await run(executor, 'promote', spec('Fedora-26-20170705.n.0', first))).state).toBe('succeeded');
    await nightly(6); // a nightly never promoted: the public repo never sees it
    const third = await nightly(7);
    const outcome = await run(executor, 'promote', spec('Fedora-26-20170707.n.0', third));
    expect(outcome.state, outcome.error).toBe('succeeded');
    for (const arch of ARCHES) expect(await pub.metadata((await pub.revParse(releaseRef(arch)))!, 'version')).toBe('26.20170707.n.0');
  });

  it('promotes a candidate already in the public repo (composed there by relengd) without pulling, its history read there', async () => {
    const inPublic = async (n: number) => ({ x86_64: await pungiCommitIn(pub, join(tmp, 'trees'), 'x86_64', `26.${n}`), aarch64: await pungiCommitIn(pub, join(tmp, 'trees'), 'aarch64', `26.${n}`) });
    expect((await run(executor, 'promote', spec('26.1', await inPublic(1)))).state).toBe('succeeded');
    const second = await run(executor, 'promote', spec('26.2', await inPublic(2)));
    expect(second.state, second.error).toBe('succeeded');
    expect(await compose.refs()).toEqual([]);
  });

  it('refuses a candidate that does not descend from the release, before pulling anything', async () => {
    const first = await nightly(5);
    await run(executor, 'promote', spec('Fedora-26-20170705.n.0', first));
    const before = commitObjectCount(pub.path);
    const rebuilt = { x86_64: await pungiCommit('x86_64', 'x', { orphan: true }), aarch64: await pungiCommit('aarch64', 'x', { orphan: true }) };
    const outcome = await run(executor, 'promote', spec('Fedora-26-20170706.n.0', rebuilt));
    expect(outcome.emit).toMatchObject([{ topic: 'relengd.release.promotion.refused', data: { reason: 'not-fast-forward' } }]);
    expect(commitObjectCount(pub.path)).toBe(before);
  });

  it('refuses, moving no ref, when one arch is gone from the compose repo', async () => {
    const c = await nightly(5);
    const outcome = await run(executor, 'promote', spec('Fedora-26-20170705.n.0', { ...c, aarch64: 'e'.repeat(64) }));
    expect(outcome.state).toBe('failed');
    expect(outcome.emit).toMatchObject([{ topic: 'relengd.release.promotion.refused', data: { reason: 'promotion-failed', detail: `commit ${'e'.repeat(64)} is not in the repository ${compose.path}; nothing was promoted` } }]);
    for (const arch of ARCHES) expect(await pub.revParse(releaseRef(arch))).toBeNull();
  });
});
