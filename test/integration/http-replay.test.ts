/**
 * `POST /replay` on a daemon that ran the demo's story, with one compose's outcome event lost:
 * refused without an allowed operator (nothing replayed), a dry run that changes nothing and says
 * what `relengd replay --dry-run` says, and the confirmed replay doing what the CLI's does, recorded
 * with who asked.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/cli/daemon.ts';
import { DEMO_VERSION } from '../../src/cli/demo/scenario.ts';
import { withOperatorTokens } from '../helpers/operator-tokens.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { runCli } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';
import { syncStore } from '../helpers/sync-store.ts';

const RELENG_TOKEN = 'releng-replay-0123456789abcdef0123';
const CI_TOKEN = 'ci-replay-0123456789abcdef01234567';
/** The demo's Bodhi push: the chain whose compose outcome the tests lose. */
const BODHI_MESSAGE = '2017-6f0d1d5e-8b4a-4c1e-9d8e-5a1f0c2b7e01';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

/** Tokens for `releng` (may replay) and `ci` (may not). */
const withTokens = (dir: string) => withOperatorTokens(dir, { releng: RELENG_TOKEN, ci: CI_TOKEN }, 'relengd.replay.requested');

interface ReplayAnswer {
  dryRun: boolean;
  selection: Record<string, unknown>;
  selected: number;
  counts: { emitted: number; enqueued: number; requeued: number; promotions: number };
  emitted: unknown[];
  enqueued: unknown[];
  requeued: Array<{ id: string; kind: string; missing: string[] }>;
  confirm?: string;
  requestedBy?: string;
  recorded?: { id: string; correlationId: string };
  status?: string;
  reason?: string;
  error?: string;
  plan?: ReplayAnswer;
}

/** The demo's story run to promoted refs, then the x86_64 compose's outcome event deleted, as if lost. */
async function runWithLostOutcome() {
  const dir = tempDir();
  const p = await startPipeline(dir, withTokens(dir), { http: true });
  daemon = p.daemon;
  for (const step of [0, 1, 2]) await p.feed(step);
  const store = syncStore(p.daemon.store);
  const compose = store.jobs.list({ kind: 'compose' }).find((j) => (j.spec as { arch: string }).arch === 'x86_64')!;
  const outcomeId = compose.emitted[0]!;
  store.events.delete(outcomeId);
  const url = p.daemon.http!.url;
  const replay = async (body: unknown, token?: string): Promise<{ status: number; body: ReplayAnswer }> => {
    const response = await fetch(`${url}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as ReplayAnswer };
  };
  /** Everything a replay could change, as data. */
  const snapshot = () => ({
    events: store.events.query({ order: 'asc' }).map((e) => [e.envelope.id, e.dispatchState]),
    jobs: store.jobs.list().map((j) => [j.id, j.state, j.attempts]),
    state: store.db.prepare('SELECT namespace, key, value FROM state ORDER BY namespace, key').all(),
    outbox: store.db.prepare('SELECT count(*) AS n FROM outbox').get(),
  });
  return { dir, p, store, compose, outcomeId, replay, snapshot };
}

describe('POST /replay', () => {
  it('refuses an anonymous request, an unknown token and a publisher not allowed, and replays nothing', { timeout: 120_000 }, async () => {
    const { p, store, compose, outcomeId, replay, snapshot } = await runWithLostOutcome();
    const before = snapshot();
    const selection = { correlation: BODHI_MESSAGE };
    const allowed = await replay(selection, RELENG_TOKEN);
    expect(allowed.status).toBe(200);
    const confirm = allowed.body.confirm!;

    for (const body of [selection, { ...allowed.body.selection, confirm }]) {
      const [anonymous, unknown, outsider] = await Promise.all([replay(body), replay(body, 'not-a-token-0123456789abcdef01'), replay(body, CI_TOKEN)]);
      expect([anonymous.status, unknown.status, outsider.status]).toEqual([403, 401, 403]);
      expect(anonymous.body).toMatchObject({ reason: 'unauthorized', error: expect.stringContaining('sender was (not authenticated)') });
      expect(unknown.body.reason).toBe('unauthenticated');
      expect(outsider.body).toMatchObject({ reason: 'unauthorized', error: 'relengd.replay.requested is allowed only to releng; sender was ci' });
    }
    // Not a message either: relengd.replay.requested is no topic anyone may send, releng included.
    const asMessage = await fetch(`${p.daemon.http!.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${RELENG_TOKEN}` },
      body: JSON.stringify({ specversion: '1.0', id: 'replay-as-message', source: '/test', type: 'org.relengd.replay.requested', data: selection }),
    });
    expect(asMessage.status).toBe(403);
    expect(await asMessage.json()).toMatchObject({ reason: 'own-topic' });

    await p.daemon.idle();
    expect(snapshot()).toEqual(before);
    expect(store.jobs.get(compose.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(store.events.has(outcomeId)).toBe(false);
    expect(store.events.has('replay-as-message')).toBe(false);
    expect(store.events.query({ topic: 'relengd.replay.performed' })).toEqual([]);
  });

  it('dry-runs without changing anything and says what relengd replay --dry-run says; the confirmed replay does it, recorded with who asked', { timeout: 120_000 }, async () => {
    const { dir, p, store, compose, outcomeId, replay, snapshot } = await runWithLostOutcome();
    const refs = async () => Object.fromEntries(await Promise.all((await p.repo.refs()).map(async (r) => [r, await p.repo.revParse(r)])));
    const refsBefore = await refs();
    const before = snapshot();

    const dry = await replay({ correlation: BODHI_MESSAGE }, RELENG_TOKEN);
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, selection: { correlation: BODHI_MESSAGE }, counts: { emitted: 0, enqueued: 0, requeued: 1 }, requeued: [{ id: compose.id, kind: 'compose', missing: [outcomeId] }] });
    expect(dry.body.confirm).toMatch(/^[0-9a-f]{64}$/);
    await p.daemon.idle();
    expect(snapshot()).toEqual(before);

    // The CLI, on the same store, would do the same.
    const cli = await runCli(['--config', join(dir, 'relengd.yaml'), 'replay', '--correlation', BODHI_MESSAGE, '--dry-run', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const cliReport = JSON.parse(cli.stdout) as { selected: number; emitted: unknown[]; enqueued: unknown[]; requeued: unknown[]; promotions: number };
    expect({ selected: dry.body.selected, emitted: dry.body.emitted, enqueued: dry.body.enqueued, requeued: dry.body.requeued, promotions: dry.body.counts.promotions }).toEqual({
      selected: cliReport.selected,
      emitted: cliReport.emitted,
      enqueued: cliReport.enqueued,
      requeued: cliReport.requeued,
      promotions: cliReport.promotions,
    });

    // A confirmation of another selection performs nothing.
    const mismatched = await replay({ correlation: 'some-other-chain', confirm: dry.body.confirm }, RELENG_TOKEN);
    expect(mismatched.status).toBe(409);
    expect(mismatched.body).toMatchObject({ reason: 'changed', plan: { dryRun: true, selected: 0 } });
    expect(snapshot()).toEqual(before);

    const done = await replay({ ...dry.body.selection, confirm: dry.body.confirm }, RELENG_TOKEN);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ dryRun: false, requestedBy: 'releng', selected: dry.body.selected, requeued: dry.body.requeued, emitted: [], enqueued: [] });
    await p.daemon.idle();

    // What the CLI's replay does (test/e2e/replay.test.ts): the job runs again and reads its commit back; nothing else changes.
    expect(store.jobs.get(compose.id)).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(store.events.get(outcomeId)?.envelope).toMatchObject({ topic: 'relengd.ostree.compose.finished', data: { commit: expect.any(String) } });
    expect(store.jobs.list().filter((j) => j.attempts > 1).map((j) => j.id)).toEqual([compose.id]);
    expect(await refs()).toEqual(refsBefore);
    expect(await p.repo.log('fedora/26/x86_64/updates/atomic-host')).toHaveLength(1);
    expect(p.events('relengd.release.promoted').map((e) => e.version)).toEqual([DEMO_VERSION]);

    const [record] = store.events.query({ topic: 'relengd.replay.performed' });
    expect(record?.envelope.id).toBe(done.body.recorded!.id);
    expect(record?.envelope.correlationid).toBe(done.body.recorded!.correlationId);
    expect(record?.envelope.data).toEqual({
      requestedBy: 'releng',
      selection: { correlationId: BODHI_MESSAGE },
      selected: dry.body.selected,
      emitted: 0,
      enqueued: 0,
      requeued: 1,
      promotions: 0,
      confirmed: dry.body.confirm,
    });
    // Published like every event relengd emits: history elsewhere shows it too.
    expect(store.db.prepare('SELECT count(*) AS n FROM outbox WHERE event_id = ?').get(record!.envelope.id)).toEqual({ n: 1 });

    // The same confirmation again: the dry run now finds nothing to do, so it no longer matches.
    const again = await replay({ ...dry.body.selection, confirm: dry.body.confirm }, RELENG_TOKEN);
    expect(again.status).toBe(409);
    expect(again.body.plan).toMatchObject({ counts: { emitted: 0, enqueued: 0, requeued: 0 } });
    expect(store.events.query({ topic: 'relengd.replay.performed' })).toHaveLength(1);
  });

  it('answers 400 for a selection that selects nothing or is malformed', { timeout: 120_000 }, async () => {
    const { replay, snapshot } = await runWithLostOutcome();
    const before = snapshot();
    const cases: Array<[unknown, string]> = [
      [{}, 'select something'],
      [{ since: 'yesterday' }, 'since: an ISO 8601 time'],
      [{ topic: 'a b' }, 'topic:'],
      [{ correlation: BODHI_MESSAGE, force: true }, 'force'],
      [{ correlation: BODHI_MESSAGE, confirm: 'abc' }, 'confirm:'],
    ];
    for (const [body, message] of cases) {
      const answer = await replay(body, RELENG_TOKEN);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toContain(message);
    }
    expect(snapshot()).toEqual(before);
  });
});
