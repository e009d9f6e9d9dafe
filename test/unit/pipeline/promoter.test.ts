import { describe, expect, it } from 'vitest';
import { PROMOTION, promoter } from '../../../src/pipeline/listeners/promoter.ts';
import { STREAM_HEAD } from '../../../src/pipeline/listeners/composer.ts';
import { RELEASES, type ReleaseHistory } from '../../../src/pipeline/listeners/release-history.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const VERSION = '26.20261126.0';
const LABEL = `f26-atomic-host-${VERSION}`;
const commitOf = (arch: string) => (arch === 'x86_64' ? 'a' : 'b').repeat(64);
const iso = { name: 'installer', kind: 'installer', platform: 'metal', format: 'iso', path: '/j/boot.iso', sha256: 'e'.repeat(64), size: 10 };

function composeDone(arch: string, status = 'FINISHED', version = VERSION) {
  return {
    composeId: `compose-${arch}`,
    stream: `f26-atomic-host-${arch}`,
    group: 'f26-atomic-host',
    arch,
    ref: `fedora/26/${arch}/updates/atomic-host`,
    commit: commitOf(arch),
    version,
    status,
    artifacts: [iso],
  };
}

function greenwave(subject: string, satisfied: boolean, context = 'atomic_two_week', subjectType = 'compose') {
  return { decision_context: context, subject_type: subjectType, subject_identifier: subject, policies_satisfied: satisfied, summary: satisfied ? 'All required tests passed' : '1 of 1 required tests failed' };
}

function resultsdb(item: string, outcome: string, testcase = 'atomic.host.smoke') {
  return { id: 1, outcome, testcase: { name: testcase }, data: { item: [item], type: ['compose'] } };
}

function setup(options: Parameters<typeof artifactsAndPromotion>[0] = {}, extra = '') {
  return listenerHarness(promoter, testConfig('/srv/relengd', { stream: artifactsAndPromotion(options), extra }));
}

describe('promoter', () => {
  it('promotes the group when every arch finished and Greenwave is satisfied for the compose', () => {
    const h = setup();
    expect(h.send('relengd.compose.finished', composeDone('x86_64')).jobs).toEqual([]);
    expect(h.send('relengd.compose.finished', composeDone('aarch64')).jobs).toEqual([]);
    const decision = h.send('greenwave.decision.update', greenwave(LABEL, true), { id: 'gw-1' });
    expect(decision.emit).toEqual([]);
    expect(decision.jobs).toEqual([
      {
        kind: 'promote',
        key: 'gated',
        queueKey: 'promote:f26-atomic-host',
        spec: {
          group: 'f26-atomic-host',
          version: VERSION,
          force: false,
          requestedBy: null,
          gates: ['greenwave atomic_two_week'],
          targets: ['x86_64', 'aarch64'].map((arch) => ({
            arch,
            stream: `f26-atomic-host-${arch}`,
            repo: '/srv/relengd/repo',
            sourceRef: `fedora/26/${arch}/updates/atomic-host`,
            ref: `fedora/26/${arch}/atomic-host`,
            commit: commitOf(arch),
            composeId: `compose-${arch}`,
            artifacts: [iso],
          })),
          summary: { gpgKey: null },
          deltas: false,
          metadata: null,
          baseUrl: null,
        },
      },
    ]);
    expect(h.get(PROMOTION, `f26-atomic-host/${VERSION}`)).toMatchObject({ phase: 'promoting' });
  });

  it('moves no ref while one arch is missing', () => {
    const h = setup();
    h.send('relengd.compose.finished', composeDone('x86_64'));
    const decision = h.send('greenwave.decision.update', greenwave(LABEL, true));
    expect(decision.jobs).toEqual([]);
    expect(h.get(PROMOTION, `f26-atomic-host/${VERSION}`)).toMatchObject({ phase: 'open' });
  });

  it('refuses, with the reason, when Greenwave says policies are not satisfied', () => {
    const h = setup();
    h.send('relengd.compose.finished', composeDone('x86_64'));
    h.send('relengd.compose.finished', composeDone('aarch64'));
    const decision = h.send('greenwave.decision.update', greenwave(LABEL, false));
    expect(decision.jobs).toEqual([]);
    expect(decision.emit).toMatchObject([{ topic: 'relengd.release.promotion.refused', data: { group: 'f26-atomic-host', version: VERSION, reason: 'gate-failed' } }]);
    expect(String((decision.emit[0]!.data as { detail: string }).detail)).toContain('atomic_two_week');
  });

  it('promotes after a waiver flips an unsatisfied decision', () => {
    const h = setup();
    h.send('relengd.compose.finished', composeDone('x86_64'));
    h.send('relengd.compose.finished', composeDone('aarch64'));
    h.send('greenwave.decision.update', greenwave(LABEL, false));
    expect(h.send('greenwave.decision.update', greenwave(LABEL, true)).jobs).toHaveLength(1);
  });

  it('ignores decisions of another decision context', () => {
    const h = setup();
    h.send('relengd.compose.finished', composeDone('x86_64'));
    h.send('relengd.compose.finished', composeDone('aarch64'));
    expect(h.send('greenwave.decision.update', greenwave(LABEL, true, 'bodhi_update_push_stable')).jobs).toEqual([]);
  });

  describe('greenwave.subjectType', () => {
    const typed = () => setup({ gates: '[{ greenwave: { decisionContext: atomic_two_week, subjectType: compose } }]' });
    const finishBoth = (h: ReturnType<typeof setup>) => ['x86_64', 'aarch64'].forEach((arch) => h.send('relengd.compose.finished', composeDone(arch)));

    it('counts only decisions about that subject type', () => {
      const h = typed();
      finishBoth(h);
      expect(h.send('greenwave.decision.update', greenwave(LABEL, true, 'atomic_two_week', 'koji_build')).jobs).toEqual([]);
      expect(h.send('greenwave.decision.update', greenwave(LABEL, true, 'atomic_two_week', 'compose')).jobs).toHaveLength(1);
    });

    it('is neither refused nor blocked by a failing decision about another subject type', () => {
      const h = typed();
      finishBoth(h);
      const other = h.send('greenwave.decision.update', greenwave(LABEL, false, 'atomic_two_week', 'koji_build'));
      expect(other.emit).toEqual([]);
      expect(h.send('greenwave.decision.update', greenwave(commitOf('x86_64'), true)).jobs).toEqual([]);
      expect(h.send('greenwave.decision.update', greenwave(commitOf('aarch64'), true)).jobs).toHaveLength(1);
    });

    it('is refused by a failing decision about that subject type', () => {
      const h = typed();
      finishBoth(h);
      expect(h.send('greenwave.decision.update', greenwave(LABEL, false)).emit).toMatchObject([{ data: { reason: 'gate-failed', detail: `Greenwave atomic_two_week: policies not satisfied for compose ${LABEL}` } }]);
    });

    it('when not set, takes a decision about any subject type', () => {
      const h = setup();
      finishBoth(h);
      expect(h.send('greenwave.decision.update', greenwave(LABEL, true, 'atomic_two_week', 'koji_build')).jobs).toHaveLength(1);
    });
  });

  it('keeps a decision that arrives before the compose and promotes when the compose lands', () => {
    const h = setup();
    h.send('greenwave.decision.update', greenwave(commitOf('x86_64'), true));
    h.send('greenwave.decision.update', greenwave(commitOf('aarch64'), true));
    h.send('relengd.compose.finished', composeDone('x86_64'));
    expect(h.send('relengd.compose.finished', composeDone('aarch64')).jobs).toHaveLength(1);
  });

  it('promotes a FINISHED_INCOMPLETE compose when the config accepts it', () => {
    const h = setup();
    h.send('relengd.compose.finished', composeDone('x86_64', 'FINISHED_INCOMPLETE'));
    h.send('relengd.compose.finished', composeDone('aarch64'));
    expect(h.send('greenwave.decision.update', greenwave(LABEL, true)).jobs).toHaveLength(1);
  });

  it('refuses a status the config does not accept, and never promotes it', () => {
    const h = setup({ accept: '[FINISHED]' });
    const incomplete = h.send('relengd.compose.finished', composeDone('x86_64', 'FINISHED_INCOMPLETE'));
    expect(incomplete.emit).toMatchObject([{ data: { reason: 'status-not-accepted' } }]);
    h.send('relengd.compose.finished', composeDone('aarch64'));
    expect(h.send('greenwave.decision.update', greenwave(LABEL, true)).jobs).toEqual([]);
  });

  it('needs every ResultsDB testcase passed on every arch, and refuses on a failure', () => {
    const h = setup({ gates: '[{ resultsdb: { testcases: [atomic.host.smoke] } }]' });
    h.send('relengd.compose.finished', composeDone('x86_64'));
    h.send('relengd.compose.finished', composeDone('aarch64'));
    expect(h.send('resultsdb.result.new', resultsdb('compose-x86_64', 'PASSED')).jobs).toEqual([]);
    const failed = h.send('resultsdb.result.new', resultsdb('compose-aarch64', 'FAILED'));
    expect(failed.emit).toMatchObject([{ data: { reason: 'gate-failed' } }]);
    expect(h.send('resultsdb.result.new', resultsdb('compose-aarch64', 'PASSED')).jobs).toHaveLength(1);
  });

  it('waits for an approval when the config asks for one', () => {
    const h = setup({ gates: '[{ approval: {} }]' });
    h.send('relengd.compose.finished', composeDone('x86_64'));
    expect(h.send('relengd.compose.finished', composeDone('aarch64')).jobs).toEqual([]);
    const approved = h.send('relengd.release.approve', { group: 'f26-atomic-host', version: VERSION, comment: 'ship it' }, { publisher: 'releng' });
    expect(approved.jobs).toHaveLength(1);
  });

  it('promotes a version once: later gating messages start no second job', () => {
    const h = setup();
    h.send('relengd.compose.finished', composeDone('x86_64'));
    h.send('relengd.compose.finished', composeDone('aarch64'));
    h.send('greenwave.decision.update', greenwave(LABEL, true));
    expect(h.send('greenwave.decision.update', greenwave(LABEL, true)).jobs).toEqual([]);
  });

  describe('manual promotion (relengd promote)', () => {
    const manual = (force = false) => ({ group: 'f26-atomic-host', version: VERSION, force, requestedBy: 'dusty' });

    it('skips the gates and carries --force and who asked (the authenticated publisher) into the job', () => {
      const h = setup();
      h.send('relengd.compose.finished', composeDone('x86_64'));
      h.send('relengd.compose.finished', composeDone('aarch64'));
      const decision = h.send('relengd.release.promote.requested', manual(true), { publisher: 'releng' });
      expect(decision.jobs).toMatchObject([{ kind: 'promote', key: 'manual', spec: { force: true, requestedBy: 'releng' } }]);
    });

    it('never takes who asked from the body', () => {
      const h = setup();
      h.send('relengd.compose.finished', composeDone('x86_64'));
      h.send('relengd.compose.finished', composeDone('aarch64'));
      const decision = h.send('relengd.release.promote.requested', { ...manual(true), requestedBy: 'someone-else' }, { publisher: 'local:alice' });
      expect(decision.jobs).toMatchObject([{ spec: { requestedBy: 'local:alice' } }]);
    });

    it('refuses when an arch has no finished compose of that version', () => {
      const h = setup();
      h.send('relengd.compose.finished', composeDone('x86_64'));
      const decision = h.send('relengd.release.promote.requested', manual());
      expect(decision.jobs).toEqual([]);
      expect(decision.emit).toMatchObject([{ data: { reason: 'arch-missing' } }]);
    });

    it('says version-mismatch when that arch is at another version', () => {
      const h = setup();
      h.send('relengd.compose.finished', composeDone('x86_64'));
      h.set(STREAM_HEAD, 'f26-atomic-host-aarch64', { composeId: 'x', commit: commitOf('aarch64'), version: '26.20261125.3', ref: 'r' });
      const decision = h.send('relengd.release.promote.requested', manual());
      expect(decision.emit).toMatchObject([{ data: { reason: 'version-mismatch' } }]);
      expect(String((decision.emit[0]!.data as { detail: string }).detail)).toContain('26.20261125.3');
    });
  });

  describe('a version that was rolled back', () => {
    /** The rollback listener's record: VERSION was taken off the release refs by local:alice. */
    const rolledBack = (h: ReturnType<typeof setup>) => {
      const history: ReleaseHistory = { group: 'f26-atomic-host', promotions: [], current: null, rolledBack: { [VERSION]: { by: 'local:alice', at: '2026-11-27T09:00:00Z', eventId: 'rb-1' } }, rollingBack: null };
      h.set(RELEASES, 'f26-atomic-host', history);
    };

    it('is never promoted again by its gates: a late gating message starts no job', () => {
      const h = setup();
      h.send('relengd.compose.finished', composeDone('x86_64'));
      h.send('relengd.compose.finished', composeDone('aarch64'));
      rolledBack(h);
      const late = h.send('greenwave.decision.update', greenwave(LABEL, true));
      expect(late.jobs).toEqual([]);
      expect(late.emit).toEqual([]);
    });

    it('the rollback marks its candidate rolled-back', () => {
      const h = setup();
      h.send('relengd.compose.finished', composeDone('x86_64'));
      h.send('relengd.compose.finished', composeDone('aarch64'));
      h.send('greenwave.decision.update', greenwave(LABEL, true));
      h.send('relengd.release.rolled-back', { group: 'f26-atomic-host', fromVersion: VERSION, toVersion: '26.20261125.0', refs: [{ ref: 'fedora/26/x86_64/atomic-host', arch: 'x86_64', from: 'a'.repeat(64), to: 'c'.repeat(64) }], requestedBy: 'local:alice', jobId: 'rb-job' });
      expect(h.get(PROMOTION, `f26-atomic-host/${VERSION}`)).toMatchObject({ phase: 'rolled-back' });
    });

    it('an operator promotes it again only with --force, and is told so without it', () => {
      const h = setup();
      h.send('relengd.compose.finished', composeDone('x86_64'));
      h.send('relengd.compose.finished', composeDone('aarch64'));
      rolledBack(h);
      const plain = h.send('relengd.release.promote.requested', { group: 'f26-atomic-host', version: VERSION }, { publisher: 'releng' });
      expect(plain.jobs).toEqual([]);
      expect(plain.emit).toMatchObject([{ topic: 'relengd.release.promotion.refused', data: { reason: 'rolled-back' } }]);
      expect((plain.emit[0]!.data as { detail: string }).detail).toBe(
        `${VERSION} was rolled back (by local:alice at 2026-11-27T09:00:00Z); to release it again anyway: relengd promote --group f26-atomic-host --version ${VERSION} --force`,
      );
      const forced = h.send('relengd.release.promote.requested', { group: 'f26-atomic-host', version: VERSION, force: true }, { publisher: 'releng' });
      expect(forced.jobs).toMatchObject([{ kind: 'promote', spec: { force: true, requestedBy: 'releng' } }]);
    });
  });
});
