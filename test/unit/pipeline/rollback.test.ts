import { describe, expect, it } from 'vitest';
import { RollbackRequested } from '../../../src/events/relengd/rollback.ts';
import { jobId } from '../../../src/events/ids.ts';
import type { RollbackJobSpec } from '../../../src/jobs/specs.ts';
import { PROMOTION } from '../../../src/pipeline/listeners/promoter.ts';
import { RELEASES, type ReleaseHistory } from '../../../src/pipeline/listeners/release-history.ts';
import { rollback } from '../../../src/pipeline/listeners/rollback.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const GROUP = 'f26-atomic-host';
const ARCHES = ['x86_64', 'aarch64'] as const;
const V1 = '26.20261126.0';
const V2 = '26.20261127.0';
const V3 = '26.20261128.0';
/** The release commit of `arch` at `version`: a distinct checksum per pair. */
const released = (arch: string, version: string): string => `${ARCHES.indexOf(arch as 'x86_64') + 1}${version.replaceAll('.', '')}`.padEnd(64, 'c');
const qcow2 = (arch: string, version: string) => ({ name: 'qcow2', kind: 'image', platform: 'qemu', format: 'qcow2', path: `/j/Fedora-${version}.${arch}.qcow2`, sha256: 'e'.repeat(64), size: 10, arch });

function promoted(version: string, previous: string | null) {
  return {
    group: GROUP,
    version,
    jobId: `promote-${version}`,
    refs: ARCHES.map((arch) => ({ ref: `fedora/26/${arch}/atomic-host`, arch, from: previous && released(arch, previous), to: released(arch, version) })),
    artifacts: ARCHES.map((arch) => qcow2(arch, version)),
  };
}

function setup() {
  const h = listenerHarness(rollback, testConfig('/srv/relengd', { stream: artifactsAndPromotion() }));
  /** Promotes each version in turn, as the promote job reports it. */
  const release = (...versions: string[]) => {
    let previous: string | null = (h.get(RELEASES, GROUP) as ReleaseHistory | undefined)?.current?.version ?? null;
    for (const version of versions) {
      expect(h.send('relengd.release.promoted', promoted(version, previous), { id: `promoted-${version}` })).toMatchObject({ emit: [], jobs: [] });
      previous = version;
    }
  };
  const ask = (body: Record<string, unknown> = {}, options: { id?: string; publisher?: string } = {}) =>
    h.send('relengd.release.rollback.requested', { group: GROUP, ...body }, { publisher: 'local:alice', ...options });
  /** The rollback job reports the refs moved back. */
  const rolledBack = (spec: RollbackJobSpec, id: string) =>
    h.send('relengd.release.rolled-back', { group: GROUP, fromVersion: spec.fromVersion, toVersion: spec.toVersion, requestedBy: spec.requestedBy, jobId: id, refs: spec.targets.map((t) => ({ ref: t.ref, arch: t.arch, from: t.expected, to: `${t.commit.slice(0, 60)}dddd` })) });
  const refusal = (decision: { emit: Array<{ topic: string; data: unknown }> }) => {
    expect(decision.emit.map((e) => e.topic)).toEqual(['relengd.release.rollback.refused']);
    return decision.emit[0]!.data as { reason: string; detail: string; fromVersion: string | null; toVersion: string | null; requestedBy: string | null };
  };
  return { h, release, ask, rolledBack, refusal, history: () => h.get(RELEASES, GROUP) as ReleaseHistory };
}

describe('rollback (relengd rollback)', () => {
  it('asks for the previous promoted version by default: a rollback job from the current release commits to the earlier ones, with who asked', () => {
    const { release, ask, history } = setup();
    release(V1, V2);
    const decision = ask({ comment: 'kernel panics on boot' }, { id: 'cmd-1' });
    expect(decision.emit).toEqual([]);
    expect(decision.jobs).toEqual([
      {
        kind: 'rollback',
        key: 'rollback',
        queueKey: `promote:${GROUP}`,
        spec: {
          group: GROUP,
          fromVersion: V2,
          toVersion: V1,
          requestedBy: 'local:alice',
          comment: 'kernel panics on boot',
          targets: ARCHES.map((arch) => ({
            arch,
            stream: `${GROUP}-${arch}`,
            repo: '/srv/relengd/repo',
            ref: `fedora/26/${arch}/atomic-host`,
            expected: released(arch, V2),
            commit: released(arch, V1),
            artifacts: [{ name: 'qcow2', kind: 'image', platform: 'qemu', format: 'qcow2', path: `/j/Fedora-${V1}.${arch}.qcow2`, sha256: 'e'.repeat(64), size: 10 }],
          })),
          summary: { gpgKey: null },
          deltas: false,
          metadata: null,
          baseUrl: null,
        },
      },
    ]);
    expect(history().rollingBack).toEqual({ jobId: jobId('cmd-1', 'rollback', 'rollback'), toVersion: V1 });
  });

  it('never takes who asked from the body', () => {
    const { release, ask } = setup();
    release(V1, V2);
    expect(ask({ requestedBy: 'someone-else' }, { publisher: 'releng' }).jobs).toMatchObject([{ spec: { requestedBy: 'releng' } }]);
  });

  it('goes to the version named', () => {
    const { release, ask } = setup();
    release(V1, V2, V3);
    expect(ask({ toVersion: V1 }).jobs).toMatchObject([{ spec: { fromVersion: V3, toVersion: V1 } }]);
  });

  it('resolves --to by a release commit or its prefix, or by the candidate commit the promoter recorded', () => {
    const { h, release, ask } = setup();
    release(V1, V2, V3);
    expect(ask({ toCommit: released('aarch64', V1).slice(0, 12) }, { id: 'cmd-1' }).jobs).toMatchObject([{ spec: { toVersion: V1 } }]);
    h.send('relengd.release.rollback.refused', { group: GROUP, fromVersion: V3, toVersion: V1, reason: 'ref-moved', detail: '-', requestedBy: null, jobId: jobId('cmd-1', 'rollback', 'rollback') });
    const composed = 'f'.repeat(64);
    h.set(PROMOTION, `${GROUP}/${V2}`, { group: GROUP, version: V2, composes: { x86_64: { composeId: 'c', stream: 's', ref: 'r', commit: composed, status: 'FINISHED', artifacts: [] } }, approval: null, phase: 'promoted' });
    expect(ask({ toCommit: composed }, { id: 'cmd-2' }).jobs).toMatchObject([{ spec: { toVersion: V2 } }]);
  });

  it('refuses a commit no promoted version has, or a prefix several share', () => {
    const { release, ask, refusal } = setup();
    release(V1, V2, V3);
    expect(refusal(ask({ toCommit: '0123456789' }))).toMatchObject({ reason: 'unknown-version' });
    // Every aarch64 release commit here starts with 22620261.
    const ambiguous = refusal(ask({ toCommit: '22620261' }));
    expect(ambiguous).toMatchObject({ reason: 'unknown-version' });
    expect(ambiguous.detail).toContain(`names commits of ${V3}, ${V2}, ${V1}: give more of the checksum`);
  });

  it('refuses, naming why, and enqueues nothing', () => {
    const { release, ask, refusal } = setup();
    expect(refusal(ask())).toMatchObject({ reason: 'nothing-to-roll-back', fromVersion: null, requestedBy: 'local:alice' });
    release(V1);
    expect(refusal(ask())).toMatchObject({ reason: 'nothing-to-roll-back', fromVersion: V1 });
    release(V2);
    expect(refusal(ask({ toVersion: V2 }))).toMatchObject({ reason: 'already-current', toVersion: V2 });
    const unknown = refusal(ask({ toVersion: '26.20200101.0' }));
    expect(unknown).toMatchObject({ reason: 'unknown-version' });
    expect(unknown.detail).toContain(`promoted: ${V2}, ${V1}`);
    expect(refusal(ask({ group: 'f99-nothing' }))).toMatchObject({ reason: 'arch-missing' });
  });

  it('one rollback at a time: a second request while one runs is refused; the job refusing ends it', () => {
    const { h, release, ask, refusal, history } = setup();
    release(V1, V2);
    expect(ask({}, { id: 'cmd-1' }).jobs).toHaveLength(1);
    expect(refusal(ask({}, { id: 'cmd-2' }))).toMatchObject({ reason: 'rollback-running' });
    // The job refused (a ref moved): nothing moved, and another request is taken.
    h.send('relengd.release.rollback.refused', { group: GROUP, fromVersion: V2, toVersion: V1, reason: 'ref-moved', detail: 'moved', requestedBy: 'local:alice', jobId: history().rollingBack!.jobId });
    expect(history()).toMatchObject({ rollingBack: null, current: { version: V2 } });
    expect(ask({}, { id: 'cmd-3' }).jobs).toHaveLength(1);
  });

  it('after a rollback: the refs hold the earlier version, the rolled-back one is marked, and the next rollback skips it', () => {
    const { h, release, ask, rolledBack, refusal, history } = setup();
    release(V1, V2, V3);
    const first = ask({ toVersion: V2 }, { id: 'cmd-1' });
    rolledBack(first.jobs[0]!.spec as RollbackJobSpec, history().rollingBack!.jobId);
    expect(history()).toMatchObject({ current: { version: V2 }, rollingBack: null, rolledBack: { [V3]: { by: 'local:alice' } } });
    expect(history().current!.refs.map((r) => r.commit)).toEqual(ARCHES.map((arch) => `${released(arch, V2).slice(0, 60)}dddd`));
    // Going "back" to the rolled-back version is refused: that is a forced promotion.
    const again = refusal(ask({ toVersion: V3 }, { id: 'cmd-2' }));
    expect(again).toMatchObject({ reason: 'rolled-back' });
    expect(again.detail).toContain(`relengd promote --group ${GROUP} --version ${V3} --force`);
    // The previous one before V2 is V1; the rollback starts from the rollback's own commits.
    const next = ask({}, { id: 'cmd-3' });
    expect(next.jobs).toMatchObject([{ spec: { fromVersion: V2, toVersion: V1, targets: ARCHES.map((arch) => ({ expected: `${released(arch, V2).slice(0, 60)}dddd`, commit: released(arch, V1) })) } }]);
    // An operator's forced promotion of V3 releases it again.
    h.send('relengd.release.promoted', { ...promoted(V3, V1), forced: true }, { id: 'promoted-again' });
    expect(history().rolledBack).toEqual({});
  });

  it('the command names at most one target, and only safe values', () => {
    expect(RollbackRequested.safeParse({ group: GROUP, toVersion: V1, toCommit: 'abcdef0' }).success).toBe(false);
    expect(RollbackRequested.safeParse({ group: GROUP, toCommit: 'abc' }).success).toBe(false);
    expect(RollbackRequested.safeParse({ group: GROUP, toVersion: '--force' }).success).toBe(false);
    expect(RollbackRequested.safeParse({ group: GROUP, toCommit: 'abcdef0', comment: 'bad kernel' }).success).toBe(true);
  });
});
