import { describe, expect, it } from 'vitest';
import { jobId as jobIdOf } from '../../../src/events/ids.ts';
import { COMPOSE_QUEUE, STREAM_HEAD, composer } from '../../../src/pipeline/listeners/composer.ts';
import { testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const REF = 'fedora/26/x86_64/updates/atomic-host';
const COMMIT = 'a'.repeat(64);
const OTHER_COMMIT = 'b'.repeat(64);

function request(n: number) {
  return { stream: 'f26-atomic-host-x86_64', ref: REF, treefile: 'fedora-atomic-host.json', version: `26.20261126.${n}`, causes: [{ id: `bodhi-${n}`, topic: 'bodhi.compose.complete' }] };
}

function finished(composeId: string, commit: string | null = COMMIT, version = '26.20261126.0') {
  return { composeId, stream: 'f26-atomic-host-x86_64', ref: REF, commit, parent: null, version, duration: 60 };
}

function failed(composeId: string) {
  return { composeId, stream: 'f26-atomic-host-x86_64', ref: REF, error: 'rpm-ostree exited with 1', log: `/srv/relengd/jobs/${composeId}/log` };
}

describe('composer', () => {
  it('enqueues a compose job with everything the executor needs when none is in flight', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const decision = h.send('relengd.ostree.compose.requested', request(0), { id: 'req-0' });
    const jobId = jobIdOf('req-0', 'composer', 'compose');
    expect(decision.jobs).toEqual([
      {
        kind: 'compose',
        key: 'compose',
        queueKey: `compose:/srv/relengd/repo:${REF}`,
        spec: expect.objectContaining({ composeId: jobId, stream: 'f26-atomic-host-x86_64', ref: REF, repo: '/srv/relengd/repo', version: '26.20261126.0', arch: 'x86_64', argv: expect.arrayContaining(['rpm-ostree', '--repo={repo}']) }),
      },
    ]);
    expect(h.get(COMPOSE_QUEUE, REF)).toEqual({ active: { jobId, version: '26.20261126.0' }, pending: null });
  });

  it('takes the treefile and the command from the configuration, never from the request', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const decision = h.send('relengd.ostree.compose.requested', { ...request(0), treefile: '/any/path/evil.json' }, { id: 'req-evil' });
    const spec = decision.jobs[0]!.spec as { treefile: string; argv: string[] };
    expect(spec.treefile).toBe('fedora-atomic-host.json');
    expect(spec.argv).not.toContain('/any/path/evil.json');
  });

  it('holds a request that arrives while a compose runs as the one follow-up, and merges later ones into it', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    h.send('relengd.ostree.compose.requested', request(0), { id: 'req-0' });
    const second = h.send('relengd.ostree.compose.requested', request(1));
    const third = h.send('relengd.ostree.compose.requested', request(2));
    expect([second.jobs, third.jobs]).toEqual([[], []]);
    expect(h.get(COMPOSE_QUEUE, REF)).toMatchObject({
      pending: { version: '26.20261126.2', causes: [{ id: 'bodhi-1' }, { id: 'bodhi-2' }] },
    });
  });

  it('gives five requests in quick succession at most two composes', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const jobs = [0, 1, 2, 3, 4].flatMap((n) => h.send('relengd.ostree.compose.requested', request(n), { id: `req-${n}` }).jobs);
    const first = jobs[0]!.spec as { composeId: string };
    jobs.push(...h.send('relengd.ostree.compose.finished', finished(first.composeId), { id: 'done-1' }).jobs);
    const second = jobs[1]!.spec as { composeId: string; version: string; causes: Array<{ id: string }> };
    jobs.push(...h.send('relengd.ostree.compose.finished', finished(second.composeId), { id: 'done-2' }).jobs);
    expect(jobs).toHaveLength(2);
    expect(second.version).toBe('26.20261126.4');
    expect(second.causes.map((c) => c.id)).toEqual(['bodhi-1', 'bodhi-2', 'bodhi-3', 'bodhi-4']);
    expect(h.get(COMPOSE_QUEUE, REF)).toBeUndefined();
  });

  it('starts the follow-up after a failed compose too', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const first = h.send('relengd.ostree.compose.requested', request(0), { id: 'req-0' }).jobs[0]!.spec as { composeId: string };
    h.send('relengd.ostree.compose.requested', request(1));
    const after = h.send('relengd.ostree.compose.failed', { composeId: first.composeId, stream: 'f26-atomic-host-x86_64', ref: REF, error: 'boom', log: null });
    expect(after.jobs).toHaveLength(1);
  });

  it('remembers the stream head on a new commit, not on a no-change compose', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const first = h.send('relengd.ostree.compose.requested', request(0), { id: 'req-0' }).jobs[0]!.spec as { composeId: string };
    h.send('relengd.ostree.compose.finished', finished(first.composeId), { time: '2026-11-26T10:05:00Z' });
    expect(h.get(STREAM_HEAD, 'f26-atomic-host-x86_64')).toEqual({ composeId: first.composeId, commit: COMMIT, version: '26.20261126.0', ref: REF, finishedAt: '2026-11-26T10:05:00.000Z' });
    const next = h.send('relengd.ostree.compose.requested', request(1), { id: 'req-1' }).jobs[0]!.spec as { composeId: string };
    h.send('relengd.ostree.compose.finished', finished(next.composeId, null), { time: '2026-11-26T11:05:00Z' });
    expect(h.get(STREAM_HEAD, 'f26-atomic-host-x86_64')).toMatchObject({ commit: COMMIT, composeId: first.composeId });
  });

  it('records the head when a retried compose succeeds, though the ref has moved on to other composes', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const first = h.send('relengd.ostree.compose.requested', request(0), { id: 'req-0' }).jobs[0]!.spec as { composeId: string };
    h.send('relengd.ostree.compose.requested', request(1), { id: 'req-1' });
    const followUp = h.send('relengd.ostree.compose.failed', failed(first.composeId), { id: 'failed-0', time: '2026-11-26T10:05:00Z' }).jobs[0]!.spec as { composeId: string };
    h.send('relengd.ostree.compose.finished', finished(followUp.composeId, COMMIT, '26.20261126.1'), { time: '2026-11-26T10:20:00Z' });

    // `relengd jobs retry` re-ran the first compose: it is no longer the ref's active compose, and its commit is the newest.
    const retried = h.send('relengd.ostree.compose.finished', finished(first.composeId, OTHER_COMMIT), { time: '2026-11-26T11:00:00Z' });
    expect(h.get(STREAM_HEAD, 'f26-atomic-host-x86_64')).toEqual({ composeId: first.composeId, commit: OTHER_COMMIT, version: '26.20261126.0', ref: REF, finishedAt: '2026-11-26T11:00:00.000Z' });
    expect(retried.jobs).toEqual([]);
    expect(h.get(COMPOSE_QUEUE, REF)).toBeUndefined();
  });

  it('never moves the head back for a result that finished before it (late, or run again)', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const first = h.send('relengd.ostree.compose.requested', request(0), { id: 'req-0' }).jobs[0]!.spec as { composeId: string };
    h.send('relengd.ostree.compose.finished', finished(first.composeId), { time: '2026-11-26T10:05:00Z' });
    const late = h.send('relengd.ostree.compose.finished', finished('an-older-compose', OTHER_COMMIT), { time: '2026-11-26T09:00:00Z' });
    const again = h.send('relengd.ostree.compose.finished', finished(first.composeId), { time: '2026-11-26T10:05:00Z' });
    expect([late, again]).toMatchObject([{ jobs: [], patches: [], emit: [] }, { jobs: [], patches: [], emit: [] }]);
    expect(h.get(STREAM_HEAD, 'f26-atomic-host-x86_64')).toMatchObject({ composeId: first.composeId, commit: COMMIT });
  });

  it("records a commit Pungi made as the stream's head, marked as Pungi's", () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const pungi = { ...finished('arch-compose-1', OTHER_COMMIT, 'Fedora-26-20261126.n.0'), pungiComposeId: 'Fedora-26-20261126.n.0' };
    const decision = h.send('relengd.ostree.compose.finished', pungi, { time: '2026-11-26T10:05:00Z' });
    expect(decision.jobs).toEqual([]);
    expect(h.get(STREAM_HEAD, 'f26-atomic-host-x86_64')).toEqual({
      composeId: 'arch-compose-1',
      commit: OTHER_COMMIT,
      version: 'Fedora-26-20261126.n.0',
      ref: REF,
      finishedAt: '2026-11-26T10:05:00.000Z',
      pungiComposeId: 'Fedora-26-20261126.n.0',
    });
  });

  it('leaves the queue alone for a result of a compose it is not running', () => {
    const h = listenerHarness(composer, testConfig('/srv/relengd'));
    const first = h.send('relengd.ostree.compose.requested', request(0), { id: 'req-0' }).jobs[0]!.spec as { composeId: string };
    h.send('relengd.ostree.compose.requested', request(1));
    const stray = h.send('relengd.ostree.compose.failed', failed('someone-else'));
    expect(stray).toMatchObject({ jobs: [], patches: [], emit: [] });
    expect(h.get(COMPOSE_QUEUE, REF)).toMatchObject({ active: { jobId: first.composeId }, pending: { version: '26.20261126.1' } });
  });
});
