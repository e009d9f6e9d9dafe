import { describe, expect, it } from 'vitest';
import { cancelReason, controlOutcome, decideControl, runKey } from '../../../src/jobs/control.ts';
import { catalogue } from '../../../src/events/catalogue.ts';
import { jobControl } from '../../../src/pipeline/listeners/job-control.ts';
import { JOB_CONTROL, type JobControlRequest, type JobRow, type JobState } from '../../../src/store/jobs.ts';
import { authorize, topicKind } from '../../../src/trust.ts';
import { jobRow } from '../../helpers/executor-context.ts';
import { testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const job = (state: JobState, retries = 0): JobRow => ({ ...jobRow({ kind: 'compose', spec: {}, id: 'job-1' }, '/jobs/job-1/job.log'), state, retries });
const request = (action: 'retry' | 'cancel'): JobControlRequest => ({ action, jobId: 'job-1', requestedBy: 'local:alice', commandId: 'cmd-1', correlationId: 'cmd-1', at: '2026-11-26T10:00:00.000Z' });

describe('what a retry or cancel does to a job', () => {
  it.each([
    ['retry', 'failed', 'retry'],
    ['retry', 'cancelled', 'retry'],
    ['retry', 'succeeded', 'refuse'],
    ['retry', 'running', 'refuse'],
    ['retry', 'queued', 'refuse'],
    ['retry', 'interrupted', 'refuse'],
    ['cancel', 'queued', 'cancel'],
    ['cancel', 'interrupted', 'cancel'],
    ['cancel', 'running', 'stop'],
    ['cancel', 'succeeded', 'refuse'],
    ['cancel', 'failed', 'refuse'],
    ['cancel', 'cancelled', 'refuse'],
  ] as const)('%s of a %s job: %s', (action, state, expected) => {
    expect(decideControl(request(action), job(state), true).action).toBe(expected);
  });

  it('says why it refuses', () => {
    expect(decideControl(request('retry'), undefined, true)).toMatchObject({ action: 'refuse', reason: 'no job job-1' });
    expect(decideControl(request('retry'), job('succeeded'), true)).toMatchObject({ reason: 'job job-1 is succeeded; only a failed or cancelled job can be retried' });
    expect(decideControl(request('cancel'), job('failed'), true)).toMatchObject({ reason: 'job job-1 already ended (failed)' });
    expect(decideControl(request('cancel'), job('running'), false)).toMatchObject({ action: 'refuse', reason: 'job job-1 is running, but not in this daemon' });
  });

  it('names who cancelled in the reason the pipeline hears', () => {
    expect(cancelReason(request('cancel'))).toBe('cancelled by local:alice');
  });

  it('gives a retry\'s result events keys of their own, and the first run the executor\'s keys', () => {
    expect(runKey(job('queued'), 'failed')).toBe('failed');
    expect(runKey(job('queued', 1), 'failed')).not.toBe('failed');
    expect(runKey(job('queued', 2), 'failed')).not.toBe(runKey(job('queued', 1), 'failed'));
  });

  it('reports each outcome as an event its topic\'s schema accepts', () => {
    const outcomes = [
      controlOutcome(request('retry'), { retried: job('failed') }),
      controlOutcome(request('cancel'), { cancelled: job('running'), was: 'running' }),
      controlOutcome(request('retry'), { refused: undefined, reason: 'no job job-1' }),
    ];
    expect(outcomes.map((o) => o.topic)).toEqual(['relengd.job.retried', 'relengd.job.cancelled', 'relengd.job.control.refused']);
    for (const outcome of outcomes) expect(catalogue[outcome.topic].schema.safeParse(outcome.data).success).toBe(true);
    expect(outcomes[0]!.data).toMatchObject({ jobId: 'job-1', requestedBy: 'local:alice', commandId: 'cmd-1', retries: 1 });
  });
});

describe('retry and cancel are commands', () => {
  it.each(['relengd.job.retry.requested', 'relengd.job.cancel.requested'])('%s: only from an allowed identity or an operator on this machine', (topic) => {
    expect(topicKind(topic)).toBe('command');
    const publishers = { [topic]: ['releng'] };
    expect(authorize(topic, { identity: 'releng', source: 'live' }, publishers).allowed).toBe(true);
    expect(authorize(topic, { identity: 'ci', source: 'live' }, publishers).allowed).toBe(false);
    expect(authorize(topic, { identity: undefined, source: 'live' }, publishers).allowed).toBe(false);
    expect(authorize(topic, { identity: 'releng', source: 'live' }, {}).allowed).toBe(false);
    expect(authorize(topic, { identity: 'releng', source: 'archive' }, publishers).allowed).toBe(false);
    expect(authorize(topic, { identity: 'local:alice', source: 'operator' }, {}).allowed).toBe(true);
  });

  it.each(['relengd.job.retried', 'relengd.job.cancelled', 'relengd.job.control.refused'])('%s is relengd\'s own fact', (topic) => {
    expect(topicKind(topic)).toBe('own');
  });
});

describe('job-control listener', () => {
  it('leaves each command for the job runner with who sent it, taken from the transport, not the body', () => {
    const h = listenerHarness(jobControl, testConfig('/srv/relengd'));
    h.send('relengd.job.cancel.requested', { jobId: 'job-1', requestedBy: 'someone-else' }, { id: 'cmd-1', publisher: 'releng', time: '2026-11-26T10:00:00Z' });
    h.send('relengd.job.retry.requested', { jobId: 'job-2' }, { id: 'cmd-2', publisher: 'local:alice' });
    expect(h.get(JOB_CONTROL, 'cmd-1')).toEqual({ action: 'cancel', jobId: 'job-1', requestedBy: 'releng', commandId: 'cmd-1', correlationId: 'cmd-1', at: '2026-11-26T10:00:00.000Z' });
    expect(h.get(JOB_CONTROL, 'cmd-2')).toMatchObject({ action: 'retry', jobId: 'job-2', requestedBy: 'local:alice' });
  });
});
