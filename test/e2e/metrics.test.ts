/**
 * /metrics of a real daemon after the demo's two-week story (real OSTree repo, stand-in builders),
 * scraped over HTTP and read as Prometheus reads it: what a release engineer alerts on is there,
 * with the values the run produced, and the counts survive a restart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { DEMO_ARCHES, DEMO_GROUP } from '../../src/cli/demo/scenario.ts';
import { parseConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { fakeTime } from '../helpers/fake-time.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { histogramOf, parseExposition, valueOf, type Exposition } from '../helpers/prometheus.ts';
import { tempDir } from '../helpers/tmp.ts';
import { syncStore } from '../helpers/sync-store.ts';

const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
});

const withWatch = (yaml: string) => `${yaml}\nwatch: [{ topic: bodhi.compose.complete, quietHours: 6 }, { topic: pungi.compose.status.change, quietHours: 12 }]\n`;

async function scrape(daemon: Daemon): Promise<Exposition> {
  const response = await fetch(`${daemon.http!.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4');
  return parseExposition(await response.text());
}

/** Finished runs per job kind, from the store: what the job-duration histogram must have counted. */
function runsByKind(daemon: Daemon): Record<string, number> {
  const runs: Record<string, number> = {};
  for (const job of syncStore(daemon.store).jobs.list({ limit: 1000 })) if (job.startedAt && job.finishedAt) runs[job.kind] = (runs[job.kind] ?? 0) + 1;
  return runs;
}

describe('/metrics after the two-week story', () => {
  it('counts finished composes, refusals by reason, rejections and job runs, and keeps them across a restart', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const p = await startPipeline(dir, withWatch, { http: true });
    daemons.push(p.daemon);
    await p.feed(0); // Bodhi pushed f26-updates: both arches compose, build their installer and image
    await p.feed(2, (s) => ({ ...s, message: { ...s.message, data: { ...(s.message.data as object), policies_satisfied: false } } }));
    const rejected = await publishOverHttp(p.daemon.http!.url, { topic: 'org.fedoraproject.prod.bodhi.compose.complete', id: 'not-a-mash', body: { repo: 42 } });
    expect(rejected.status).toBe(422);
    await p.daemon.idle();

    const m = await scrape(p.daemon);
    expect(m.types.get('relengd_composes_total')).toBe('counter');
    expect(m.types.get('relengd_job_duration_seconds')).toBe('histogram');
    for (const arch of DEMO_ARCHES) {
      expect(valueOf(m, 'relengd_composes_total', { stream: `${DEMO_GROUP}-${arch}`, status: 'FINISHED' })).toBe(1);
      expect(valueOf(m, 'relengd_last_successful_compose_age_seconds', { stream: `${DEMO_GROUP}-${arch}` })).toBeGreaterThanOrEqual(0);
    }
    expect(valueOf(m, 'relengd_promotion_refusals_total', { group: DEMO_GROUP, reason: 'gate-failed' })).toBe(1);
    expect(valueOf(m, 'relengd_promotions_total', { group: DEMO_GROUP })).toBeUndefined();
    expect(valueOf(m, 'relengd_rejected_messages_total', { transport: 'http', reason: 'schema' })).toBe(1);

    // Every job that ran is in the duration histogram, under its kind.
    const runs = runsByKind(p.daemon);
    expect(runs).toMatchObject({ compose: 2, artifact: 4 });
    for (const [kind, n] of Object.entries(runs)) expect(histogramOf(m, 'relengd_job_duration_seconds', { kind }).count).toBe(n);
    // The Bodhi message started both composes; the artifact builds were started by the composes' results, not by a message.
    const started = histogramOf(m, 'relengd_message_to_job_start_seconds', { kind: 'compose' });
    expect(started.count).toBe(2);
    expect(started.sum).toBeGreaterThanOrEqual(0);
    expect(m.samples.filter((s) => s.name === 'relengd_message_to_job_start_seconds_count' && s.labels.kind === 'artifact')).toEqual([]);

    // The bus: nothing waits on the embedded transport; the watched topics are not silent yet.
    expect(valueOf(m, 'relengd_bus_backlog_messages', { transport: 'embedded' })).toBe(0);
    expect(valueOf(m, 'relengd_bus_silent', { topic: 'bodhi.compose.complete' })).toBe(0);
    expect(valueOf(m, 'relengd_last_message_age_seconds', { topic: 'bodhi.compose.complete' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(m, 'relengd_bus_silent', { topic: 'pungi.compose.status.change' })).toBe(0);
    expect(valueOf(m, 'relengd_last_message_age_seconds', { topic: 'pungi.compose.status.change' })).toBeUndefined();
    expect(valueOf(m, 'relengd_outbox_oldest_pending_age_seconds')).toBe(0);

    // A second scrape counts nothing twice.
    const again = await scrape(p.daemon);
    expect(valueOf(again, 'relengd_promotion_refusals_total', { group: DEMO_GROUP, reason: 'gate-failed' })).toBe(1);
    expect(histogramOf(again, 'relengd_job_duration_seconds', { kind: 'compose' }).count).toBe(2);

    // Restarted: the counts are read back from the store.
    await p.daemon.stop();
    daemons.splice(0);
    const restarted = await startDaemon({ config: parseConfig(readFileSync(join(dir, 'relengd.yaml'), 'utf8'), { RELENGD_HTTP_PORT: '0' }), logger: silentLogger() });
    daemons.push(restarted);
    const after = await scrape(restarted);
    for (const name of ['relengd_composes_total', 'relengd_promotion_refusals_total', 'relengd_rejected_messages_total']) {
      expect(after.samples.filter((s) => s.name === name)).toEqual(m.samples.filter((s) => s.name === name));
    }
    for (const [kind, n] of Object.entries(runs)) expect(histogramOf(after, 'relengd_job_duration_seconds', { kind }).count).toBe(n);
    expect(histogramOf(after, 'relengd_message_to_job_start_seconds', { kind: 'compose' })).toEqual(started);
  });

  it('counts a promotion and how long ago each stream was promoted', { timeout: 120_000 }, async () => {
    const p = await startPipeline(tempDir(), (y) => y, { http: true });
    daemons.push(p.daemon);
    await p.feed(0);
    await p.feed(2); // Greenwave passed the compose: the group is promoted
    expect(p.events('relengd.release.promoted')).toHaveLength(1);

    const m = await scrape(p.daemon);
    expect(valueOf(m, 'relengd_promotions_total', { group: DEMO_GROUP })).toBe(1);
    for (const arch of DEMO_ARCHES) expect(valueOf(m, 'relengd_last_promotion_age_seconds', { stream: `${DEMO_GROUP}-${arch}` })).toBeGreaterThanOrEqual(0);
    // The Greenwave message started the promotion job.
    expect(histogramOf(m, 'relengd_message_to_job_start_seconds', { kind: 'promote' }).count).toBe(1);
    expect(histogramOf(m, 'relengd_job_duration_seconds', { kind: 'promote' }).count).toBe(1);
  });

  it('shows a watched topic that went silent, once relengd reported it', { timeout: 120_000 }, async () => {
    const time = fakeTime('2026-11-26T00:00:00Z');
    const p = await startPipeline(tempDir(), withWatch, { http: true, clock: time.clock, wakeups: time.timers });
    daemons.push(p.daemon);
    await p.feed(1); // Koji: not a watched topic
    await time.advanceTo('2026-11-26T06:00:00Z', () => p.daemon.silence.idle());

    const m = await scrape(p.daemon);
    expect(valueOf(m, 'relengd_bus_silent', { topic: 'bodhi.compose.complete' })).toBe(1);
    expect(valueOf(m, 'relengd_bus_silent', { topic: 'pungi.compose.status.change' })).toBe(0);
    expect(p.events('relengd.bus.silent')).toEqual([{ topic: 'bodhi.compose.complete', lastSeen: null, quietHours: 6 }]);

    await p.feed(0); // Bodhi again: not silent any more
    const after = await scrape(p.daemon);
    expect(valueOf(after, 'relengd_bus_silent', { topic: 'bodhi.compose.complete' })).toBe(0);
    expect(valueOf(after, 'relengd_last_message_age_seconds', { topic: 'bodhi.compose.complete' })).toBe(0);
  });
});
