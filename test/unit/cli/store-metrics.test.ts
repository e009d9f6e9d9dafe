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
import { Store } from '../../../src/store/store.ts';
import { testConfig } from '../../helpers/config.ts';

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

const PREFIX = 'org.fedoraproject.prod';

function setup() {
  const store = Store.open(':memory:');
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
    mash(id: string) {
      const data = { repo: 'f26-updates', success: true, agent: 'bodhi', ctype: 'rpm' };
      intake.accept([{ transport: 'test', raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: { topic: `${PREFIX}.bodhi.compose.complete`, id, data } }]);
    },
    /** A listener's event caused by `causeId` (a compose request). */
    emit(topic: string, causeId: string, data: unknown) {
      return storeEmitted(store, { topic, key: `${topic}:${causeId}`, data }, { causeId, correlationId: causeId, emitter: 'test-listener', topicPrefix: PREFIX, now: at() })!.id;
    },
    enqueue(id: string, causeEventId: string) {
      store.jobs.insert({ id, kind: 'compose', queueKey: id, spec: {}, causeEventId, correlationId: causeEventId, listener: 'composer' }, at());
    },
    run(seconds: number, state: 'succeeded' | 'failed' = 'succeeded') {
      const job = store.jobs.claimNext(at(), () => '/dev/null')!;
      clock.advance(seconds * 1000);
      store.jobs.finish(job.id, { state }, at());
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
  it('measures message accepted -> job started through the listeners, once per job', () => {
    const m = setup();
    m.mash('push-1');
    m.clock.advance(40);
    const request = m.emit('relengd.ostree.compose.requested', 'push-1', {
      stream: 'f26-atomic-host-x86_64',
      ref: 'fedora/26/x86_64/updates/atomic-host',
      treefile: 't',
      version: '26.20261126.0',
      causes: [{ id: 'push-1', topic: 'bodhi.compose.complete' }],
    });
    m.enqueue('job-1', request);
    m.clock.advance(210);
    m.run(30);
    expect(histogram(m.metrics.collect(), 'relengd_message_to_job_start_seconds', 'compose')).toEqual({ count: 1, sum: 0.25 });
    expect(histogram(m.metrics.collect(), 'relengd_job_duration_seconds', 'compose')).toEqual({ count: 1, sum: 30 });
  });

  it('counts each run of a retried job, and never takes back what retention pruned', () => {
    const m = setup();
    m.mash('push-1');
    m.enqueue('job-1', 'push-1');
    m.run(10, 'failed');
    m.emit('relengd.compose.finished', 'push-1', composeFinished('f26-atomic-host-x86_64', 'DOOMED'));
    expect(histogram(m.metrics.collect(), 'relengd_job_duration_seconds', 'compose')).toEqual({ count: 1, sum: 10 });

    expect(m.store.jobs.retry('job-1')).toBe(true);
    m.run(20);
    m.emit('relengd.compose.finished', 'push-2', composeFinished('f26-atomic-host-x86_64', 'FINISHED'));
    const before = m.metrics.collect();
    expect(histogram(before, 'relengd_job_duration_seconds', 'compose')).toEqual({ count: 2, sum: 30 });
    // The retry's start is not a message's latency: the first start only.
    expect(histogram(before, 'relengd_message_to_job_start_seconds', 'compose')?.count).toBe(1);
    expect(counts(before, 'relengd_composes_total')).toEqual([
      { labels: { stream: 'f26-atomic-host-x86_64', status: 'DOOMED' }, value: 1 },
      { labels: { stream: 'f26-atomic-host-x86_64', status: 'FINISHED' }, value: 1 },
    ]);

    // Retention deletes the old events: what was counted stays counted.
    m.store.db.exec('DELETE FROM outbox; DELETE FROM events;');
    m.clock.advance(3_600_000);
    const after = m.metrics.collect();
    expect(counts(after, 'relengd_composes_total')).toEqual(counts(before, 'relengd_composes_total'));
    expect(histogram(after, 'relengd_message_to_job_start_seconds', 'compose')?.count).toBe(1);
    expect(counts(after, 'relengd_last_successful_compose_age_seconds')).toEqual([{ labels: { stream: 'f26-atomic-host-x86_64' }, value: 3600 }]);
  });
});
