/**
 * What /metrics reads from the store, on a fake clock: counters and histograms only ever grow (a
 * retried job's second run counts, retention pruning old rows takes nothing away), and the latency
 * is measured from the message a job's cause leads back to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StoreMetrics } from '../../../src/cli/store-metrics.ts';
import { fixedClock } from '../../../src/clock.ts';
import type { Sample } from '../../../src/http/metrics.ts';
import { silentLogger } from '../../../src/log.ts';
import { Intake } from '../../../src/pipeline/intake.ts';
import { storeEmitted } from '../../../src/store/emit.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { testConfig } from '../../helpers/config.ts';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const PREFIX = 'org.fedoraproject.prod';

function setup() {
  const store = SqliteStore.open(':memory:');
  stores.push(store);
  const config = testConfig('/srv/relengd');
  const clock = fixedClock('2026-11-26T12:00:00Z');
  const intake = new Intake({ store, config, clock, logger: silentLogger() });
  const metrics = new StoreMetrics({ store, config, clock });
  const at = () => clock.now().toISOString();
  return {
    store,
    clock,
    metrics,
    /** Bodhi pushed: stored as a message. */
    async mash(id: string) {
      const data = { repo: 'f26-updates', success: true, agent: 'bodhi', ctype: 'rpm' };
      await intake.accept([{ transport: 'test', raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: { topic: `${PREFIX}.bodhi.compose.complete`, id, data } }]);
    },
    /** A listener's event caused by `causeId` (a compose request). */
    async emit(topic: string, causeId: string, data: unknown) {
      return (await storeEmitted(store, { topic, key: `${topic}:${causeId}`, data }, { causeId, correlationId: causeId, emitter: 'test-listener', topicPrefix: PREFIX, now: at() }))!.id;
    },
    async enqueue(id: string, causeEventId: string) {
      await store.jobs.insert({ id, kind: 'compose', queueKey: id, spec: {}, causeEventId, correlationId: causeEventId, listener: 'composer' }, at());
    },
    async run(seconds: number, state: 'succeeded' | 'failed' = 'succeeded') {
      const job = (await store.jobs.claimNext(at(), () => '/dev/null'))!;
      clock.advance(seconds * 1000);
      await store.jobs.finish(job.id, { state }, at());
    },
  };
}

const composeFinished = (stream: string, status: string) => ({ composeId: 'c1', stream, group: 'f26-atomic-host', arch: 'x86_64', ref: 'r', commit: null, version: null, status, artifacts: [] });

function family(samples: Sample[], name: string): Sample {
  const found = samples.find((s) => s.name === name);
  if (!found) throw new Error(`no ${name}`);
  return found;
}

function counts(samples: Sample[], name: string) {
  const f = family(samples, name);
  if (f.type === 'histogram') throw new TypeError(name);
  return f.values;
}

function histogram(samples: Sample[], name: string, kind: string) {
  const f = family(samples, name);
  if (f.type !== 'histogram') throw new TypeError(name);
  const h = f.series.find((s) => s.labels?.kind === kind)?.histogram;
  return h ? { count: h.count, sum: h.sum } : undefined;
}

describe('StoreMetrics', () => {
  it('measures message accepted -> job started through the listeners, once per job', async () => {
    const m = setup();
    await m.mash('push-1');
    m.clock.advance(40);
    const request = await m.emit('relengd.ostree.compose.requested', 'push-1', {
      stream: 'f26-atomic-host-x86_64',
      ref: 'fedora/26/x86_64/updates/atomic-host',
      treefile: 't',
      version: '26.20261126.0',
      causes: [{ id: 'push-1', topic: 'bodhi.compose.complete' }],
    });
    await m.enqueue('job-1', request);
    m.clock.advance(210);
    await m.run(30);
    expect(histogram(await m.metrics.collect(), 'relengd_message_to_job_start_seconds', 'compose')).toEqual({ count: 1, sum: 0.25 });
    expect(histogram(await m.metrics.collect(), 'relengd_job_duration_seconds', 'compose')).toEqual({ count: 1, sum: 30 });
  });

  it('counts each run of a retried job, and never takes back what retention pruned', async () => {
    const m = setup();
    await m.mash('push-1');
    await m.enqueue('job-1', 'push-1');
    await m.run(10, 'failed');
    await m.emit('relengd.compose.finished', 'push-1', composeFinished('f26-atomic-host-x86_64', 'DOOMED'));
    expect(histogram(await m.metrics.collect(), 'relengd_job_duration_seconds', 'compose')).toEqual({ count: 1, sum: 10 });

    expect(await m.store.jobs.retry('job-1')).toBe(true);
    await m.run(20);
    await m.emit('relengd.compose.finished', 'push-2', composeFinished('f26-atomic-host-x86_64', 'FINISHED'));
    const before = await m.metrics.collect();
    expect(histogram(before, 'relengd_job_duration_seconds', 'compose')).toEqual({ count: 2, sum: 30 });
    // The retry's start is not a message's latency: the first start only.
    expect(histogram(before, 'relengd_message_to_job_start_seconds', 'compose')?.count).toBe(1);
    expect(counts(before, 'relengd_composes_total')).toEqual([
      { labels: { stream: 'f26-atomic-host-x86_64', status: 'DOOMED' }, value: 1 },
      { labels: { stream: 'f26-atomic-host-x86_64', status: 'FINISHED' }, value: 1 },
    ]);

    // Retention deletes the old events: what was counted stays counted.
    m.store.sync.db.exec('DELETE FROM outbox; DELETE FROM events;');
    m.clock.advance(3_600_000);
    const after = await m.metrics.collect();
    expect(counts(after, 'relengd_composes_total')).toEqual(counts(before, 'relengd_composes_total'));
    expect(histogram(after, 'relengd_message_to_job_start_seconds', 'compose')?.count).toBe(1);
    expect(counts(after, 'relengd_last_successful_compose_age_seconds')).toEqual([{ labels: { stream: 'f26-atomic-host-x86_64' }, value: 3600 }]);
  });

  it('counts each row once when two scrapes come at once', async () => {
    const m = setup();
    await m.mash('push-1');
    await m.enqueue('job-1', 'push-1');
    await m.run(10);
    await m.emit('relengd.compose.finished', 'push-1', composeFinished('f26-atomic-host-x86_64', 'FINISHED'));
    const [first, second] = await Promise.all([m.metrics.collect(), m.metrics.collect()]);
    for (const samples of [first!, second!]) {
      expect(counts(samples, 'relengd_composes_total')).toEqual([{ labels: { stream: 'f26-atomic-host-x86_64', status: 'FINISHED' }, value: 1 }]);
      expect(histogram(samples, 'relengd_job_duration_seconds', 'compose')).toEqual({ count: 1, sum: 10 });
    }
  });
});
