/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a daemon
 * serving the demo's store: every page shows the demo's data, an action works with an allowed
 * token and is refused without one, untrusted text stays text, and a running job's log is followed
 * live. Screenshots go to test-results/dashboard/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_GROUP, DEMO_VERSION } from '../../src/cli/demo/scenario.ts';
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
  }, 180_000);

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
    const row = page.locator('tr', { hasText: `promote:${DEMO_GROUP}` });
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
});
