/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a daemon
 * serving the demo's store: every page shows the demo's data, an action works with an allowed
 * token and is refused without one, untrusted text stays text, transport health shows the broker's
 * backlog and the watched topics, a running job's log is followed live, a lost outcome is replayed
 * (dry run first) and a second release is rolled back. Screenshots go to test-results/dashboard/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_GROUP, DEMO_VERSION, demoSteps } from '../../src/cli/demo/scenario.ts';
import { Store } from '../../src/store/store.ts';
import { projectRoot, runCli } from '../helpers/process.ts';
import { chromiumPresent, launchChromium } from './chromium.ts';
import { GATED_STREAM, startDemoDaemon, type DemoDaemon } from './demo-daemon.ts';

const SCREENSHOTS = join(projectRoot, 'test-results', 'dashboard');
/** The demo's Bodhi push: the message that starts the two-week chain. */
const BODHI_MESSAGE = '2017-6f0d1d5e-8b4a-4c1e-9d8e-5a1f0c2b7e01';
const PAGE_BUDGET = 50 * 1024;
const DEADLINE = 30_000;

interface ChainEvent {
  topic: string;
  data: { arch?: string; artifacts?: Array<{ name: string; sha256: string }> };
}

// Generous: each page load runs `ostree` a few times, and CI runs other suites beside this one.
describe.skipIf(!chromiumPresent)('dashboard in a browser, on the demo', { timeout: 90_000 }, () => {
  let demo: DemoDaemon;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    demo = await startDemoDaemon();
    browser = await launchChromium();
  }, 480_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  /** A fresh tab (its own sessionStorage) on a dashboard path; the page must be small. */
  async function open(path: string): Promise<{ page: Page; response: Response }> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const response = (await page.goto(`${demo.url}${path}`))!;
    expect(response.status()).toBe(200);
    expect((await response.body()).length).toBeLessThan(PAGE_BUDGET);
    return { page, response };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const text = (page: Page, selector: string) => page.locator(selector).innerText();
  const released = (ref: string) => demo.summary.promoted.find((p) => p.ref === ref)!.commit;

  /** Reloads until `selector`'s text contains `expected`: the daemon applies commands asynchronously. */
  async function reloadUntil(page: Page, selector: string, expected: string): Promise<void> {
    const deadline = Date.now() + DEADLINE;
    for (;;) {
      if ((await text(page, selector)).includes(expected)) return;
      if (Date.now() > deadline) throw new Error(`${selector} never showed ${JSON.stringify(expected)}: ${await text(page, selector)}`);
      await page.reload();
    }
  }

  it('shows each stream with its updates and release refs, last compose and candidates', async () => {
    // Open to anyone, as /healthz is; a token that authenticates no one is refused all the same.
    expect((await fetch(`${demo.url}/`, { headers: { authorization: 'Bearer not-a-token-anyone-was-given' } })).status).toBe(401);
    const { page } = await open('/');
    const row = await text(page, `#stream-${GATED_STREAM}`);
    expect(row).toContain('fedora/26/x86_64/updates/atomic-host');
    expect(row).toContain('fedora/26/x86_64/atomic-host');
    expect(row).toContain(released('fedora/26/x86_64/atomic-host').slice(0, 12));
    expect(row).toContain(DEMO_VERSION);
    expect(row).toContain('FINISHED');
    // The Pungi stream's updates ref is read in Pungi's compose repo.
    expect(await text(page, '#stream-f27-atomic-host-aarch64')).toContain(released('fedora/27/aarch64/atomic-host').slice(0, 12));
    await shot(page, 'streams');
    await page.getByRole('link', { name: DEMO_VERSION, exact: true }).click();
    expect(new URL(page.url()).pathname).toBe(`/candidates/${DEMO_GROUP}/${DEMO_VERSION}`);
    await page.close();
  });

  it("shows a candidate's composes, artifacts, gates and promotion", async () => {
    const chain = (await (await fetch(`${demo.url}/events?correlation=${BODHI_MESSAGE}`)).json()) as { events: ChainEvent[] };
    const x86 = chain.events.filter((e) => e.topic === 'relengd.compose.finished' && e.data.arch === 'x86_64').at(-1)!;
    const installer = x86.data.artifacts!.find((a) => a.name === 'installer')!;

    const { page } = await open(`/candidates/${DEMO_GROUP}/${DEMO_VERSION}`);
    const body = await text(page, 'main');
    expect(body).toContain('promoted');
    expect(body).toContain('installer');
    expect(body).toContain('qcow2');
    expect(body).toContain(installer.sha256);
    expect(body).toMatch(/installer\s+installer[\s\S]*boot\.iso\s+iso\s+319 B/);
    const gate = await page.locator('tr', { hasText: 'greenwave atomic_two_week' }).innerText();
    expect(gate).toContain('passed');
    expect(gate).toContain('All required tests passed');
    expect(gate).toContain('greenwave.decision.update from greenwave');
    expect(await text(page, '#approval')).toContain('not approved');
    const promotion = await page.locator('tr', { hasText: 'fedora/26/x86_64/atomic-host' }).innerText();
    expect(promotion).toContain(released('fedora/26/x86_64/atomic-host').slice(0, 12));
    await shot(page, 'candidate');
    await page.close();
  });

  it('lists jobs with state, duration, attempts and log, and streams a finished job its whole log', async () => {
    const { page } = await open('/jobs');
    // The newest of the group's promotion jobs (with signing, the demo may run more than one).
    const row = page.locator('tr', { hasText: `promote:${DEMO_GROUP}` }).first();
    expect(await row.innerText()).toMatch(/succeeded\s+promote\s+promote:f26-atomic-host\s+\d+(\.\d)? (ms|s)\s+1\s+\/.*job\.log/);
    await shot(page, 'jobs');
    await row.getByRole('link', { name: 'promote', exact: true }).click();
    await page.locator('#log-status', { hasText: 'job ended: succeeded' }).waitFor({ timeout: DEADLINE });
    const jobId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect(await text(page, '#log')).toContain(`attempt 1 of job ${jobId} (promote)`);
    await shot(page, 'job');
    await page.close();
  });

  it('shows a chain as a timeline: Bodhi message, compose, artifacts, compose.finished, gating, promotion', async () => {
    const { page } = await open(`/chains/${BODHI_MESSAGE}`);
    const topics = await page.locator('#timeline tbody tr td:nth-child(2) code').allInnerTexts();
    const first = (topic: string) => topics.indexOf(topic);
    const story = ['bodhi.compose.complete', 'relengd.ostree.compose.requested', 'relengd.ostree.compose.finished', 'relengd.artifact.build.finished', 'relengd.compose.finished', 'greenwave.decision.update', 'relengd.release.promoted'];
    for (const topic of story) expect(topics, topic).toContain(topic);
    expect(story.map(first)).toEqual([...story.map(first)].sort((a, b) => a - b));
    expect(await page.locator('tr', { hasText: 'greenwave.decision.update' }).innerText()).toContain('related');
    await shot(page, 'chain');
    await page.close();
  });

  it('renders untrusted message text as text, on the chain and the rejected pages, with transport health', async () => {
    // No double quotes: the pages show bodies as JSON, which would escape them.
    const script = '<script>window.pwned = 1</script><img src=x onerror=window.pwned=2>';
    const post = (event: Record<string, unknown>) =>
      fetch(`${demo.url}/events`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify({ specversion: '1.0', source: '/test', ...event }) });
    // Accepted: Bodhi's topic is open to anyone, and no stream is fed by this repo.
    const accepted = await post({ id: 'xss-accepted-1', type: 'org.fedoraproject.prod.bodhi.compose.complete', data: { agent: script, ctype: 'rpm', repo: 'f99-updates', success: true } });
    expect(accepted.status).toBe(202);
    // Rejected: `success` must be a boolean. The page shows the start of the body, the script in it.
    const rejected = await post({ id: 'xss-rejected-1', type: 'org.fedoraproject.prod.bodhi.compose.complete', data: { repo: script, success: script } });
    expect(rejected.status).toBe(422);

    const chain = await open('/chains/xss-accepted-1');
    expect(await text(chain.page, '#timeline')).toContain(script);
    expect(await chain.page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    await chain.page.close();

    const { page } = await open('/rejected');
    const row = await page.locator('#rejected tr', { hasText: 'xss-rejected-1' }).innerText();
    expect(row).toContain('schema');
    expect(row).toContain(script);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    const health = await text(page, '#health');
    expect(health).toMatch(/embedded\s+ready\s+connected/);
    expect(health).toMatch(/Outbox pending\s+0/);
    // Embedded: a message is stored before its sender is answered, so nothing waits on a broker.
    expect(health).toMatch(/Broker backlog\s+0 message\(s\) waiting/);
    // Bodhi's topic was just heard; ResultsDB's never was, and is reported silent moments after the start.
    expect(await page.locator('#silence tr', { hasText: 'bodhi.compose.complete' }).innerText()).toMatch(/heard\s+\S+ \S+ \(.+ ago\)\s+24 h/);
    await reloadUntil(page, '#silence', 'relengd.bus.silent');
    const silent = await page.locator('#silence tr', { hasText: 'resultsdb.result.new' }).innerText();
    expect(silent).toMatch(/silent\s+none stored/);
    expect(silent).toContain('relengd.bus.silent');
    await shot(page, 'rejected');
    await page.close();
  });

  it('approves a candidate with an allowed token, and shows the refusal (nothing stored) without one', async () => {
    const { page } = await open(`/candidates/${DEMO_GROUP}/${DEMO_VERSION}`);
    const approve = page.locator('form', { has: page.getByRole('button', { name: 'Approve' }) });
    const attempt = async (token: string, expected: string): Promise<string> => {
      await page.fill('#token', token);
      await approve.getByPlaceholder('comment (optional)').fill(`approval with ${token || 'no token'}`);
      await approve.getByRole('button', { name: 'Approve' }).click();
      const output = approve.locator('output', { hasText: expected });
      await output.waitFor({ timeout: DEADLINE });
      return output.innerText();
    };

    expect(await attempt('', 'refused: 403')).toContain('accepted only from releng; sender was (not authenticated)');
    expect(await attempt('not-a-token-anyone-was-given', 'refused: 401')).toContain('unknown bearer token');
    expect(await attempt(demo.tokens.outsider, 'refused: 403')).toContain('sender was outsider');
    await shot(page, 'approve-refused');
    const stored = await runCli(['events', '--config', join(demo.dir, 'relengd.yaml'), '--topic', 'relengd.release.approve', '--json']);
    expect(JSON.parse(stored.stdout)).toEqual([]);

    expect(await attempt(demo.tokens.releng, 'accepted (202)')).toMatch(/event \S+/);
    await reloadUntil(page, '#approval', 'approved by releng');
    // The token stays in this tab's sessionStorage only: it is there after a reload, and no cookie exists.
    expect(await page.inputValue('#token')).toBe(demo.tokens.releng);
    expect(await page.context().cookies()).toEqual([]);
    await shot(page, 'approved');
    await page.close();
  });

  it("requests a compose and follows the running job's log live until it ends", async () => {
    const { page } = await open('/');
    await page.fill('#token', demo.tokens.releng);
    const row = page.locator(`#stream-${GATED_STREAM}`);
    await row.getByRole('button', { name: 'Compose now' }).click();
    await row.locator('output', { hasText: 'accepted (202)' }).waitFor({ timeout: DEADLINE });
    // The compose command waits at its gate: the stream shows it composing, with its job.
    await reloadUntil(page, `#stream-${GATED_STREAM}`, 'composing');
    await page.locator(`#stream-${GATED_STREAM}`).getByRole('link', { name: 'job', exact: true }).click();
    // Composing may still mean queued: the runner claims the job within a moment.
    await reloadUntil(page, '#job-state', 'running');
    await page.locator('#log-status', { hasText: 'following' }).waitFor({ timeout: DEADLINE });
    await page.locator('#log', { hasText: 'gated-command.ts' }).waitFor({ timeout: DEADLINE });
    await shot(page, 'job-running');

    writeFileSync(demo.gateFile, '');
    await page.locator('#log-status', { hasText: 'job ended: succeeded' }).waitFor({ timeout: DEADLINE });
    expect(await text(page, '#log')).toMatch(/exited 0 after \d+ ms/);
    expect(await text(page, '#job-state')).toBe('succeeded');
    await shot(page, 'job-ended');
    await page.close();
  });

  it('replays a lost compose outcome from its chain: refused without an allowed token, the dry run shown first, then the replay', { timeout: 240_000 }, async () => {
    // The demo's aarch64 compose lost its outcome event, as a crash between the job and its result might.
    const inStore = <T>(read: (store: Store) => T): T => {
      const store = Store.open(join(demo.dir, 'relengd.db'));
      try {
        return read(store);
      } finally {
        store.close();
      }
    };
    const { jobId, outcomeId } = inStore((store) => {
      const job = store.jobs.list({ kind: 'compose' }).find((j) => j.correlationId === BODHI_MESSAGE && (j.spec as { arch?: string }).arch === 'aarch64')!;
      expect(store.events.delete(job.emitted[0]!)).toBe(true);
      return { jobId: job.id, outcomeId: job.emitted[0]! };
    });
    const untouched = () => inStore((store) => ({ attempts: store.jobs.get(jobId)?.attempts, outcome: store.events.has(outcomeId), records: store.events.query({ topic: 'relengd.replay.performed' }).length }));
    const before = untouched();
    expect(before).toEqual({ attempts: 1, outcome: false, records: 0 });

    const { page } = await open(`/chains/${BODHI_MESSAGE}`);
    await page.getByRole('link', { name: 'Replay this chain' }).click();
    expect(new URL(page.url()).pathname).toBe('/replay');
    expect(await page.inputValue('input[name=correlation]')).toBe(BODHI_MESSAGE);
    const selection = page.locator('#replay-selection');
    const dryRun = async (token: string, expected: string): Promise<string> => {
      await page.fill('#token', token);
      await selection.getByRole('button', { name: 'Dry run' }).click();
      const output = selection.locator('output', { hasText: expected });
      await output.waitFor({ timeout: DEADLINE });
      return output.innerText();
    };
    expect(await dryRun('', 'refused: 403')).toContain('sender was (not authenticated)');
    expect(await dryRun('not-a-token-anyone-was-given', 'refused: 401')).toContain('unknown bearer token');
    expect(await dryRun(demo.tokens.outsider, 'refused: 403')).toContain('relengd.replay.requested is allowed only to releng; sender was outsider');
    expect(await page.locator('#replay-plan').isVisible()).toBe(false);
    await shot(page, 'replay-refused');

    // The dry run: shown, and nothing changed.
    await dryRun(demo.tokens.releng, 'dry run done');
    await page.locator('#replay-plan').waitFor({ state: 'visible', timeout: DEADLINE });
    expect(await text(page, '#replay-summary')).toMatch(/Dry run of \d+ stored event\(s\), nothing changed: .* 1 finished job\(s\) run again/);
    const rerun = await page.locator('#replay-effects tr', { hasText: 'would re-run' }).innerText();
    expect(rerun).toContain(jobId);
    expect(rerun).toContain(outcomeId);
    expect(untouched()).toEqual(before);
    await shot(page, 'replay-dry-run');

    // The replay without credentials: refused, nothing done.
    const perform = page.getByRole('button', { name: 'Replay', exact: true });
    await page.fill('#token', '');
    await perform.click();
    await page.locator('#replay-result', { hasText: 'refused: 403' }).waitFor({ timeout: DEADLINE });
    expect(untouched()).toEqual(before);

    await page.fill('#token', demo.tokens.releng);
    await perform.click();
    await page.locator('#replay-result', { hasText: 'replayed; recorded as relengd.replay.performed, asked by releng' }).waitFor({ timeout: DEADLINE });
    expect(await page.locator('#replay-effects tr', { hasText: 're-run' }).innerText()).toContain(jobId);
    // The job runs again in the daemon and reads its result back: the outcome is stored again.
    await expect.poll(untouched, { timeout: 150_000, interval: 250 }).toEqual({ attempts: 2, outcome: true, records: 1 });
    await shot(page, 'replayed');

    await page.locator('#replay-result').getByRole('link', { name: 'the record' }).click();
    expect(await text(page, '#timeline')).toContain('relengd.replay.performed');
    expect(await text(page, '#timeline')).toContain('"requestedBy":"releng"');
    await page.close();
  });

  /**
   * Waits for the outcome of the command an action's answer names (`accepted (202), event <id>: …`),
   * following its chain as `relengd promote --wait` does: a promotion or rollback job regenerates the
   * summary and static deltas, which takes tens of seconds on a loaded machine.
   */
  async function outcomeOf(answer: string, topic: string): Promise<void> {
    const id = /event (\S+):/.exec(answer)![1]!;
    const topics = async () => ((await (await fetch(`${demo.url}/events?correlation=${encodeURIComponent(id)}`)).json()) as { events: ChainEvent[] }).events.map((e) => e.topic);
    await expect.poll(topics, { timeout: 150_000, interval: 250 }).toContain(topic);
  }

  it('promotes a second release and rolls the group back to the first from the streams page; refused without an allowed token', { timeout: 420_000 }, async () => {
    // Bodhi pushes again with a new kernel: both arches compose 26.20170705.1 (the day's second compose).
    const push = demoSteps(demo.dir)[0]!;
    const packages = (push.prepare!.content as { packages: string[] }).packages;
    writeFileSync(push.prepare!.file, JSON.stringify({ packages: [...packages, 'kernel-4.11.9-300.fc26'] }));
    writeFileSync(demo.gateFile, '');
    const pushed = await fetch(`${demo.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'second-push', source: '/test', type: 'org.fedoraproject.prod.bodhi.compose.complete', time: '2017-07-05T18:00:00+00:00', data: push.message.data }),
    });
    expect(pushed.status).toBe(202);
    const finished = async () => {
      const chain = (await (await fetch(`${demo.url}/events?correlation=second-push`)).json()) as { events: Array<ChainEvent & { data: { version?: string; status?: string } }> };
      return chain.events.filter((e) => e.topic === 'relengd.compose.finished').map((e) => `${e.data.arch} ${e.data.status} ${e.data.version}`).sort();
    };
    await expect.poll(finished, { timeout: 150_000, interval: 250 }).toHaveLength(2);
    const second = (await finished())[0]!.split(' ')[2]!;
    expect(await finished()).toEqual([`aarch64 FINISHED ${second}`, `x86_64 FINISHED ${second}`]);

    const candidate = await open(`/candidates/${DEMO_GROUP}/${second}`);
    await candidate.page.fill('#token', demo.tokens.releng);
    const promote = candidate.page.locator('form', { has: candidate.page.getByRole('button', { name: 'Promote now' }) });
    await promote.getByRole('button', { name: 'Promote now' }).click();
    const promoteAnswer = promote.locator('output', { hasText: 'accepted (202)' });
    await promoteAnswer.waitFor({ timeout: DEADLINE });
    await outcomeOf(await promoteAnswer.innerText(), 'relengd.release.promoted');
    await candidate.page.reload();
    expect(await text(candidate.page, 'main > p:first-of-type')).toContain('promoted');

    const { page } = await open('/');
    const group = `#group-${DEMO_GROUP}`;
    await reloadUntil(page, `${group} .release`, second);
    const rollback = page.locator(`${group} form`, { has: page.getByRole('button', { name: 'Roll back' }) });
    expect(await rollback.locator('select[name=toVersion] option').allInnerTexts()).toEqual(['the previous release', DEMO_VERSION]);
    const attempt = async (token: string, expected: string): Promise<string> => {
      await page.fill('#token', token);
      await rollback.getByPlaceholder('comment (optional)').fill(`rollback with ${token || 'no token'}`);
      await rollback.getByRole('button', { name: 'Roll back' }).click();
      const output = rollback.locator('output', { hasText: expected });
      await output.waitFor({ timeout: DEADLINE });
      return output.innerText();
    };
    expect(await attempt('', 'refused: 403')).toContain('accepted only from releng; sender was (not authenticated)');
    expect(await attempt('not-a-token-anyone-was-given', 'refused: 401')).toContain('unknown bearer token');
    expect(await attempt(demo.tokens.outsider, 'refused: 403')).toContain('sender was outsider');
    const stored = await runCli(['events', '--config', join(demo.dir, 'relengd.yaml'), '--topic', 'relengd.release.rollback.requested', '--json']);
    expect(JSON.parse(stored.stdout)).toEqual([]);
    await shot(page, 'rollback-refused');

    await rollback.locator('select[name=toVersion]').selectOption(DEMO_VERSION);
    await outcomeOf(await attempt(demo.tokens.releng, 'accepted (202)'), 'relengd.release.rolled-back');
    await page.reload();
    const release = await text(page, `${group} .release`);
    expect(release.startsWith(DEMO_VERSION)).toBe(true);
    expect(release).toContain(`rolled-back ${second} by releng`);
    // Every arch's release ref holds the first release's tree again, as a new commit: its version is the first's.
    for (const stream of [GATED_STREAM, 'f26-atomic-host-aarch64']) expect(await text(page, `#stream-${stream} td:nth-child(3)`)).toContain(DEMO_VERSION);
    await shot(page, 'rolled-back');
    await candidate.page.reload();
    expect(await text(candidate.page, 'main > p:first-of-type')).toContain('rolled-back');
    await candidate.page.close();
    await page.close();
  });
});
