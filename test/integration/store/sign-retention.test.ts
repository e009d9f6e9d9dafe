/**
 * Pruning the signing saga's state with the events: a commit's signing record, its request id rows
 * and the pushed image lists go once nothing keeps them; a candidate still open, a release ref, the
 * release history a rollback can go back to, and a wait in flight keep them.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROMOTION } from '../../../src/pipeline/listeners/promoter.ts';
import { RELEASES, type ReleaseHistory } from '../../../src/pipeline/listeners/release-history.ts';
import { IMAGE_LISTS, SIGN_REQUESTS, SIGNATURES, type SignatureRecord } from '../../../src/pipeline/listeners/sign-state.ts';
import { pruneStore, type RetentionOptions } from '../../../src/pipeline/retention.ts';
import { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const NOW = new Date('2026-12-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
/** Past the events' retention (90 days). */
const OLD = daysAgo(100);
const RECENT = daysAgo(10);

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

const hex = (c: string) => c.repeat(64);

function setup(batchSize: number) {
  const dir = tempDir();
  const store = Store.open(join(dir, 'relengd.db'));
  stores.push(store);
  const options: RetentionOptions = { eventsDays: 90, rejectedDays: 30, jobDirectoriesDays: 30, jobDirectoryOf: (id) => join(dir, 'jobs', id), now: NOW, batchSize };
  return { store, options };
}

/** A signing record for `commit` in `state`, last changed at `at`, with its request id row. */
function signature(store: Store, commit: string, state: SignatureRecord['state'], at: string, version = '26.0'): void {
  const subject = { commit, repo: '/srv/repo', ref: 'fedora/26/x86_64/updates/atomic-host', stream: 'f26-x86_64', group: 'f26', arch: 'x86_64', version, composeId: version, purpose: 'candidate' as const };
  const record: SignatureRecord = {
    subject,
    state,
    purposes: ['candidate'],
    request: { requestId: `req-${commit.slice(0, 4)}`, attempt: 1, attempts: 1, sent: 1, at, eventId: `ev-${commit}` },
    verified: state === 'verified' ? { keyId: 'KEY', signer: null, by: 'wait', at, eventId: `verified-${commit}` } : null,
    timeouts: [],
    replies: [],
    refusals: [],
  };
  store.state.put(SIGNATURES, commit, record, at, 'signer');
  store.state.put(SIGN_REQUESTS, `req-${commit.slice(0, 4)}`, commit, at, 'signer');
}

function candidate(store: Store, version: string, phase: string, commit: string, at: string, artifacts: unknown[] = []): void {
  const value = { group: 'f26', version, composes: { x86_64: { composeId: version, stream: 'f26-x86_64', ref: 'fedora/26/x86_64/updates/atomic-host', commit, status: 'FINISHED', artifacts } }, approval: null, phase };
  store.state.put(PROMOTION, `f26/${version}`, value, at, 'promoter');
}

function job(store: Store, id: string, kind: string, queueKey: string, state: 'queued' | 'running'): void {
  store.jobs.insert({ id, kind, queueKey, spec: {}, causeEventId: `cause-${id}`, correlationId: `chain-${id}`, listener: 'signer' }, OLD);
  if (state === 'running') store.db.prepare(`UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?`).run(OLD, id);
}

const keys = (store: Store, namespace: string) => store.state.list(namespace).map((r) => r.key);

describe.each([500, 2])('pruning signing state (%i rows a transaction)', (batchSize) => {
  it('drops the records nothing keeps, with their request ids, and keeps those of open candidates, release refs, the release history and waits in flight', async () => {
    const { store, options } = setup(batchSize);
    // Promoted long ago, no longer on a release ref nor in the history: nothing needs its signature.
    candidate(store, '26.0', 'promoted', hex('a'), OLD);
    signature(store, hex('a'), 'verified', OLD);
    // Refused long ago, its signing given up.
    candidate(store, '26.1', 'refused', hex('b'), OLD);
    signature(store, hex('b'), 'timed-out', OLD);
    // Never a candidate's, given up long ago; the watch still running keeps nothing (it ends when the record goes).
    signature(store, hex('9'), 'timed-out', OLD);
    job(store, 'watch-9', 'sign-watch', `sign-watch:${hex('9')}`, 'running');

    // An open candidate's commit: still signed for, however old.
    candidate(store, '26.2', 'open', hex('c'), OLD);
    signature(store, hex('c'), 'timed-out', OLD);
    // Promoted within the retention.
    candidate(store, '26.3', 'promoted', hex('d'), RECENT);
    signature(store, hex('d'), 'verified', OLD);
    // What the release ref points at now, and an earlier release a rollback may go back to.
    signature(store, hex('e'), 'verified', OLD);
    signature(store, hex('f'), 'verified', OLD);
    const history: ReleaseHistory = {
      group: 'f26',
      promotions: [
        { version: '25.9', at: OLD, eventId: 'p1', refs: [{ arch: 'x86_64', ref: 'fedora/26/x86_64/atomic-host', commit: hex('f') }], artifacts: [] },
        { version: '26.4', at: OLD, eventId: 'p2', refs: [{ arch: 'x86_64', ref: 'fedora/26/x86_64/atomic-host', commit: hex('e') }], artifacts: [] },
      ],
      current: { version: '26.4', refs: [{ arch: 'x86_64', ref: 'fedora/26/x86_64/atomic-host', commit: hex('e') }] },
      rolledBack: {},
      rollingBack: null,
    };
    store.state.put(RELEASES, 'f26', history, OLD, 'rollback');
    // Still being asked for, or a reply's check queued.
    signature(store, hex('1'), 'requested', OLD);
    signature(store, hex('2'), 'timed-out', OLD);
    job(store, 'verify-2', 'sign-verify', `sign-verify:${hex('2')}`, 'queued');
    // Changed within the retention.
    signature(store, hex('3'), 'timed-out', RECENT);

    const report = await pruneStore(store, options);

    expect(keys(store, SIGNATURES)).toEqual([hex('1'), hex('2'), hex('3'), hex('c'), hex('d'), hex('e'), hex('f')]);
    expect(store.state.list(SIGN_REQUESTS).map((r) => r.value)).toEqual([hex('1'), hex('2'), hex('3'), hex('c'), hex('d'), hex('e'), hex('f')]);
    expect(report).toMatchObject({ signatures: 3, signRequests: 3, imageLists: 0 });
    // Nothing more the next time.
    expect(await pruneStore(store, options)).toMatchObject({ signatures: 0, signRequests: 0, imageLists: 0 });
  });

  it("drops an image list and its images' records once its version is neither a kept candidate nor released; keeps the released one's", async () => {
    const { store, options } = setup(batchSize);
    const list = (version: string, digests: string[]) => ({ digest: `sha256:${digests[0]}`, manifests: digests.slice(1).map((d, i) => ({ arch: ['x86_64', 'aarch64'][i]!, digest: `sha256:${d}` })) });
    // 26.0: promoted long ago, no longer released.
    candidate(store, '26.0', 'promoted', hex('a'), OLD);
    store.state.put(IMAGE_LISTS, 'f26/26.0/toolbox', list('26.0', [hex('4'), hex('5'), hex('6')]), OLD, 'signer');
    for (const d of ['4', '5', '6']) signature(store, hex(d), 'verified', OLD, '26.0');
    // 26.4: what the release refs hold now (its candidate long decided).
    candidate(store, '26.4', 'promoted', hex('e'), OLD);
    store.state.put(IMAGE_LISTS, 'f26/26.4/toolbox', list('26.4', [hex('7'), hex('8'), hex('9')]), OLD, 'signer');
    for (const d of ['7', '8', '9']) signature(store, hex(d), 'verified', OLD, '26.4');
    signature(store, hex('e'), 'verified', OLD, '26.4');
    store.state.put(RELEASES, 'f26', { group: 'f26', promotions: [], current: { version: '26.4', refs: [{ arch: 'x86_64', ref: 'r', commit: hex('e') }] }, rolledBack: {}, rollingBack: null }, OLD, 'rollback');

    const report = await pruneStore(store, options);

    expect(keys(store, IMAGE_LISTS)).toEqual(['f26/26.4/toolbox']);
    expect(keys(store, SIGNATURES)).toEqual([hex('7'), hex('8'), hex('9'), hex('e')]);
    expect(report).toMatchObject({ imageLists: 1, signatures: 3, signRequests: 3 });
  });
});
