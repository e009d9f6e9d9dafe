/**
 * The rollback executor for a signed group, against a real OSTree repository and a throwaway GnuPG
 * key: the first run writes the rollback commits and moves nothing (awaiting their signatures); the
 * run resumed with that plan checks the signatures again, refuses while one is missing, and moves
 * every ref to the signed commits once all are signed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signCommit } from '../../../src/cli/demo/standin-signer.ts';
import { stopAgent, throwawayKey, type SigningKey } from '../../../src/cli/demo/throwaway-key.ts';
import type { ReleaseAwaitingSignature } from '../../../src/events/relengd/sign.ts';
import type { Executor, JobOutcome } from '../../../src/jobs/executor.ts';
import { promoteExecutor } from '../../../src/jobs/executors/promote.ts';
import { rollbackExecutor } from '../../../src/jobs/executors/rollback.ts';
import type { RollbackJobSpec } from '../../../src/jobs/specs.ts';
import { madeByOneOf, openRepo, type OstreeRepo } from '../../../src/ostree/index.ts';
import { executorContext, newWorkdir } from '../../helpers/executor-context.ts';

const ARCHES = ['x86_64', 'aarch64'] as const;
type Arch = (typeof ARCHES)[number];
const GROUP = 'f26-atomic-host';
const [V1, V2] = ['26.20261126.0', '26.20261210.0'];
const GENERATOR = 'relengd 0.1.0 (test)';
const updatesRef = (arch: Arch): string => `fedora/26/${arch}/updates/atomic-host`;
const releaseRef = (arch: Arch): string => `fedora/26/${arch}/atomic-host`;

let tmp: string;
let repoPath: string;
let repo: OstreeRepo;
let key: SigningKey;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-rollback-signing-'));
  repoPath = join(tmp, 'repo');
  repo = openRepo(repoPath);
  await repo.init('archive');
  key = await throwawayKey(join(tmp, 'signer'));
});
afterEach(async () => {
  await stopAgent(key.gpgHome);
  rmSync(tmp, { recursive: true, force: true });
});

function run(executor: Executor, kind: string, spec: unknown, id: string): Promise<JobOutcome> {
  return executor.execute(executorContext({ kind, spec, workdir: newWorkdir(tmp), id }));
}

const releaseCommits = async (): Promise<Array<string | null>> => Promise.all(ARCHES.map((arch) => repo.revParse(releaseRef(arch))));

/** Composes `version` on each updates ref and promotes it (not signed: the rollback is what is tested), returning the release commits. */
async function composeAndPromote(version: string): Promise<Record<Arch, string>> {
  const targets = [];
  for (const arch of ARCHES) {
    const dir = join(tmp, 'trees', `${arch}-${version}`);
    mkdirSync(join(dir, 'usr/lib'), { recursive: true });
    writeFileSync(join(dir, 'usr/lib/os-release'), `VERSION="${version}"\nARCH=${arch}\n`);
    const commit = await repo.commit({ tree: { dir }, branch: updatesRef(arch), subject: version, metadata: { version } });
    targets.push({ arch, stream: `${GROUP}-${arch}`, repo: repoPath, sourceRef: updatesRef(arch), ref: releaseRef(arch), commit, composeId: `c-${version}`, artifacts: [] });
  }
  const spec = { group: GROUP, version, force: false, requestedBy: null, targets, summary: { gpgKey: null }, deltas: false, metadata: null, baseUrl: null };
  const outcome = await run(promoteExecutor({ openRepo, generator: GENERATOR }), 'promote', spec, `promote-${version}`);
  expect(outcome.state, outcome.error).toBe('succeeded');
  const [x86_64, aarch64] = (await releaseCommits()) as [string, string];
  return { x86_64, aarch64 };
}

describe('rollback of a signed group (executor)', () => {
  it('writes the rollback commits and waits for their signatures; resumed, it refuses while one is unsigned, and moves every ref once all are signed', { timeout: 120_000 }, async () => {
    const v1 = await composeAndPromote(V1);
    const v2 = await composeAndPromote(V2);
    const spec: RollbackJobSpec = {
      group: GROUP,
      fromVersion: V2,
      toVersion: V1,
      requestedBy: 'local:alice',
      targets: ARCHES.map((arch) => ({ arch, stream: `${GROUP}-${arch}`, repo: repoPath, ref: releaseRef(arch), expected: v2[arch], commit: v1[arch], artifacts: [] })),
      sign: { keyring: key.keyring, keyIds: [key.fingerprint] },
      summary: { gpgKey: null },
      deltas: false,
      metadata: null,
      baseUrl: null,
    };
    const executor = rollbackExecutor({ openRepo, generator: GENERATOR });

    // First run: the rollback commits are written, nothing moves, their signatures are awaited.
    const first = await run(executor, 'rollback', spec, 'rollback-1');
    expect(first.state, first.error).toBe('succeeded');
    expect(first.emit?.map((e) => e.topic)).toEqual(['relengd.release.awaiting-signature']);
    const awaiting = first.emit![0]!.data as ReleaseAwaitingSignature;
    expect(awaiting).toMatchObject({ group: GROUP, version: V1, jobId: 'rollback-1' });
    expect(awaiting.commits.map((c) => [c.arch, c.ref, c.purpose])).toEqual(ARCHES.map((arch) => [arch, releaseRef(arch), 'rollback']));
    expect(awaiting.plan.map((m) => m.from)).toEqual(ARCHES.map((arch) => v2[arch]));
    expect(await releaseCommits()).toEqual(ARCHES.map((arch) => v2[arch]));
    for (const [i, arch] of ARCHES.entries()) {
      expect(await repo.parentOf(awaiting.plan[i]!.to)).toBe(v2[arch]);
      expect(await repo.sameTree(awaiting.plan[i]!.to, v1[arch])).toBe(true);
    }

    // Resumed with one commit signed only: refused, nothing moved.
    const resumedSpec: RollbackJobSpec = { ...spec, plan: awaiting.plan.map(({ ref, from, to }) => ({ ref, from, to })) };
    await signCommit({ repo: repoPath, commit: awaiting.plan[0]!.to }, key);
    const refused = await run(executor, 'rollback', resumedSpec, 'rollback-2');
    expect(refused.state).toBe('failed');
    expect(refused.emit).toMatchObject([{ topic: 'relengd.release.rollback.refused', data: { reason: 'unsigned', jobId: 'rollback-2', detail: expect.stringContaining(`${releaseRef('aarch64')} would move to ${awaiting.plan[1]!.to}`) } }]);
    expect(await releaseCommits()).toEqual(ARCHES.map((arch) => v2[arch]));

    // Every rollback commit signed: the resumed run moves each ref to exactly the planned, signed commit.
    await signCommit({ repo: repoPath, commit: awaiting.plan[1]!.to }, key);
    const done = await run(executor, 'rollback', resumedSpec, 'rollback-3');
    expect(done.state, done.error).toBe('succeeded');
    expect(done.emit).toMatchObject([{ topic: 'relengd.release.rolled-back', data: { fromVersion: V2, toVersion: V1, jobId: 'rollback-3' } }]);
    expect(await releaseCommits()).toEqual(awaiting.plan.map((m) => m.to));
    for (const m of awaiting.plan) {
      const signatures = await repo.gpgSignatures(m.to, key.keyring);
      expect(signatures.some((s) => s.status === 'good' && madeByOneOf(s, [key.fingerprint]))).toBe(true);
    }
  });
});
