/**
 * The Pungi path's two listeners together (pungi-ostree records commits and asks for them to be
 * found, pungi-tracker ends the compose on Pungi's status), fed as the runtime would: Pungi's
 * messages, and the results the `pungi-commit` job and artifact builds would report.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/events/envelope.ts';
import type { PungiCommitJobSpec } from '../../../src/jobs/specs.ts';
import type { Decision, Listener } from '../../../src/pipeline/listener.ts';
import { globMatches } from '../../../src/pipeline/listeners/pungi-composes.ts';
import { pungiOstree } from '../../../src/pipeline/listeners/pungi-ostree.ts';
import { pungiTracker } from '../../../src/pipeline/listeners/pungi-tracker.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';
import { NIGHTLY, nightlyRef, ostreeMessage, pungiConfig, statusMessage } from '../../helpers/pungi.ts';

const X86 = 'a'.repeat(64);
const ARM = 'b'.repeat(64);

/** Both Pungi listeners over one state, each getting the topics it subscribes to. */
const bothListeners: Listener = {
  name: 'pungi (both)',
  topics: [...pungiOstree.topics, ...pungiTracker.topics],
  handle(event: Envelope, context): Decision {
    return (event.topic === 'pungi.compose.ostree' ? pungiOstree : pungiTracker).handle(event, context);
  },
};

type Harness = ReturnType<typeof listenerHarness>;

function pungi(options: Parameters<typeof pungiConfig>[1] = {}) {
  const h = listenerHarness(bothListeners, pungiConfig('/srv/relengd', options));
  const jobs = new Map<string, PungiCommitJobSpec>();
  /** Sends a message; keeps the pungi-commit jobs it enqueued, by stream. */
  const send = (topic: string, data: unknown, id?: string) => {
    const decision = h.send(topic, data, id ? { id } : {});
    for (const job of decision.jobs) jobs.set((job.spec as PungiCommitJobSpec).stream, job.spec as PungiCommitJobSpec);
    return decision;
  };
  /** The job's result as the pungi-commit executor reports it: the commit was found, or why not. */
  const found = (arch: string) => {
    const spec = jobs.get(`f26-atomic-host-${arch}`)!;
    return send('relengd.ostree.compose.finished', { composeId: spec.composeId, causes: spec.causes, stream: spec.stream, ref: spec.ref, commit: spec.commit, parent: null, version: spec.version, duration: 0, pungiComposeId: spec.pungiComposeId });
  };
  const notFound = (arch: string, error: string) => {
    const spec = jobs.get(`f26-atomic-host-${arch}`)!;
    return send('relengd.ostree.compose.failed', { composeId: spec.composeId, stream: spec.stream, ref: spec.ref, version: spec.version, error, log: '/jobs/x/job.log', pungiComposeId: spec.pungiComposeId });
  };
  return { h, jobs, send, found, notFound };
}

const finished = (d: Decision) => d.emit.filter((e) => e.topic === 'relengd.compose.finished').map((e) => e.data as Record<string, unknown>);
const refusals = (d: Decision) => d.emit.filter((e) => e.topic === 'relengd.release.promotion.refused').map((e) => e.data as Record<string, unknown>);

describe('a Pungi nightly in order', () => {
  it("asks for each arch's commit to be found in the compose repo, then announces the compose under Pungi's id on FINISHED", () => {
    const p = pungi();
    const x86 = p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86));
    expect(x86.jobs).toEqual([
      {
        kind: 'pungi-commit',
        key: 'f26-atomic-host-x86_64',
        queueKey: 'pungi-commit:f26-atomic-host-x86_64',
        spec: expect.objectContaining({ repo: '/srv/relengd/compose-repo', ref: nightlyRef('x86_64'), commit: X86, pungiComposeId: NIGHTLY, version: NIGHTLY, stream: 'f26-atomic-host-x86_64' }),
      },
    ]);
    p.send('pungi.compose.ostree', ostreeMessage('aarch64', ARM));
    expect(p.send('pungi.compose.status.change', statusMessage('STARTED'))).toMatchObject({ emit: [], patches: [] });
    expect(p.found('x86_64').emit).toEqual([]);
    expect(p.found('aarch64').emit).toEqual([]); // Pungi has not finished yet
    const done = p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    expect(finished(done)).toEqual([
      { composeId: NIGHTLY, stream: 'f26-atomic-host-x86_64', group: 'f26-atomic-host', arch: 'x86_64', ref: nightlyRef('x86_64'), commit: X86, version: NIGHTLY, status: 'FINISHED', artifacts: [] },
      { composeId: NIGHTLY, stream: 'f26-atomic-host-aarch64', group: 'f26-atomic-host', arch: 'aarch64', ref: nightlyRef('aarch64'), commit: ARM, version: NIGHTLY, status: 'FINISHED', artifacts: [] },
    ]);
    expect(refusals(done)).toEqual([]);
  });

  it("passes FINISHED_INCOMPLETE on as Pungi's status", () => {
    const p = pungi();
    for (const [arch, commit] of [['x86_64', X86], ['aarch64', ARM]] as const) p.send('pungi.compose.ostree', ostreeMessage(arch, commit));
    p.found('x86_64');
    p.found('aarch64');
    expect(finished(p.send('pungi.compose.status.change', statusMessage('FINISHED_INCOMPLETE'))).map((c) => c.status)).toEqual(['FINISHED_INCOMPLETE', 'FINISHED_INCOMPLETE']);
  });
});

describe('order and repetition', () => {
  type Step = 'ostree-x86' | 'ostree-arm' | 'found-x86' | 'found-arm' | 'finished';
  const run = (order: readonly Step[], repeat = false) => {
    const p = pungi();
    const emitted: Decision['emit'] = [];
    const act: Record<Step, () => Decision> = {
      'ostree-x86': () => p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86)),
      'ostree-arm': () => p.send('pungi.compose.ostree', ostreeMessage('aarch64', ARM)),
      'found-x86': () => p.found('x86_64'),
      'found-arm': () => p.found('aarch64'),
      finished: () => p.send('pungi.compose.status.change', statusMessage('FINISHED')),
    };
    for (const step of order) {
      emitted.push(...act[step]().emit);
      // A repeat arrives as another message (another id): the inbox would drop the same id.
      if (repeat) emitted.push(...act[step]().emit);
    }
    return { emitted, jobs: p.jobs.size };
  };
  const inOrder = run(['ostree-x86', 'ostree-arm', 'found-x86', 'found-arm', 'finished']);
  const announced = (e: Decision['emit']) => e.filter((x) => x.topic === 'relengd.compose.finished').map((x) => x.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

  it.each([
    [['finished', 'ostree-x86', 'ostree-arm', 'found-x86', 'found-arm']],
    [['ostree-arm', 'finished', 'found-arm', 'ostree-x86', 'found-x86']],
    [['ostree-x86', 'found-x86', 'finished', 'ostree-arm', 'found-arm']],
    [['ostree-arm', 'ostree-x86', 'found-x86', 'finished', 'found-arm']],
  ] as const)('announces the same composes, once each, when the messages come as %j', (order) => {
    const other = run(order);
    expect(announced(other.emitted)).toEqual(announced(inOrder.emitted));
    expect(announced(other.emitted)).toHaveLength(2);
    expect(other.jobs).toBe(2);
  });

  it('announces each arch once however often every message and result comes', () => {
    const twice = run(['ostree-x86', 'ostree-arm', 'found-x86', 'found-arm', 'finished'], true);
    expect(announced(twice.emitted)).toEqual(announced(inOrder.emitted));
    expect(twice.emitted.filter((e) => e.topic === 'relengd.release.promotion.refused')).toEqual([]);
  });

  it("refuses an arch whose commit has not come when FINISHED does, and still finishes it when the commit comes after", () => {
    const p = pungi();
    const early = p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    expect(refusals(early).map((r) => r.detail)).toEqual([expect.stringContaining('without a usable commit for x86_64, aarch64')]);
    p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86));
    expect(finished(p.found('x86_64')).map((c) => [c.arch, c.status])).toEqual([['x86_64', 'FINISHED']]);
  });

  it('takes the first final status: a FINISHED after DOOMED changes nothing', () => {
    const p = pungi();
    p.send('pungi.compose.status.change', statusMessage('DOOMED'));
    expect(p.send('pungi.compose.status.change', statusMessage('FINISHED')).emit).toEqual([]);
  });
});

describe('composes that must not be promoted', () => {
  it('dooms every stream of a DOOMED compose, commits or not, and takes no commit after it', () => {
    const p = pungi();
    p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86));
    p.found('x86_64');
    const doomed = p.send('pungi.compose.status.change', statusMessage('DOOMED'));
    expect(finished(doomed).map((c) => [c.arch, c.status, c.commit, c.composeId])).toEqual([
      ['x86_64', 'DOOMED', null, NIGHTLY],
      ['aarch64', 'DOOMED', null, NIGHTLY],
    ]);
    const late = p.send('pungi.compose.ostree', ostreeMessage('aarch64', ARM));
    expect(late).toMatchObject({ jobs: [], emit: [] });
  });

  it('treats TERMINATED (the compose was killed) as DOOMED', () => {
    const p = pungi();
    expect(finished(p.send('pungi.compose.status.change', statusMessage('TERMINATED'))).map((c) => c.status)).toEqual(['DOOMED', 'DOOMED']);
  });

  it('refuses a FINISHED compose missing an arch, naming the arch, and announces the arch it has', () => {
    const p = pungi();
    p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86));
    p.found('x86_64');
    const done = p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    expect(finished(done).map((c) => c.arch)).toEqual(['x86_64']);
    expect(refusals(done)).toEqual([
      {
        group: 'f26-atomic-host',
        version: NIGHTLY,
        reason: 'arch-missing',
        detail: `Pungi compose ${NIGHTLY} is FINISHED without a usable commit for aarch64 (aarch64: no pungi.compose.ostree for ${nightlyRef('aarch64')} (variant Atomic))`,
      },
    ]);
    // The same status again refuses nothing more.
    expect(p.send('pungi.compose.status.change', statusMessage('FINISHED')).emit).toEqual([]);
  });

  it('refuses an arch whose commit is not in the compose repo, with the reason the job gave', () => {
    const p = pungi();
    p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86));
    p.send('pungi.compose.ostree', ostreeMessage('aarch64', ARM));
    p.found('x86_64');
    p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    const refused = p.notFound('aarch64', `commit ${ARM} is not in the compose repository /srv/relengd/compose-repo`);
    expect(refusals(refused)[0]?.detail).toBe(`Pungi compose ${NIGHTLY} is FINISHED without a usable commit for aarch64 (aarch64: commit ${ARM} is not in the compose repository /srv/relengd/compose-repo)`);
    expect(finished(refused)).toEqual([]);
  });

  it('finishes a refused arch whose job, retried by an operator, found the commit after all', () => {
    const p = pungi();
    p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86));
    p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    p.notFound('x86_64', 'reading the compose repository: permission denied');
    expect(finished(p.found('x86_64')).map((c) => [c.arch, c.status, c.commit])).toEqual([['x86_64', 'FINISHED', X86]]);
  });

  it('refuses, without running a job, a commit id that is not a checksum', () => {
    const p = pungi();
    const bad = p.send('pungi.compose.ostree', ostreeMessage('aarch64', 'deadbeef'));
    expect(bad.jobs).toEqual([]);
    expect(bad.emit.map((e) => e.topic)).toEqual(['relengd.ostree.compose.failed']);
    const done = p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    expect(refusals(done)[0]?.detail).toContain('aarch64: Pungi announced commit "deadbeef"');
  });

  it('never announces an arch for which Pungi made no new commit', () => {
    const p = pungi();
    const none = p.send('pungi.compose.ostree', ostreeMessage('x86_64', null));
    expect(none.jobs).toEqual([]);
    expect(none.emit).toMatchObject([{ topic: 'relengd.ostree.compose.finished', data: { commit: null, pungiComposeId: NIGHTLY } }]);
    const done = p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    expect(finished(done)).toEqual([]);
    expect(refusals(done)[0]?.detail).toContain(`x86_64: Pungi made no new commit for ${nightlyRef('x86_64')}`);
  });
});

describe('what a stream takes', () => {
  it.each([
    ['another compose', { compose_id: 'Fedora-Rawhide-20170705.n.0' }],
    ['a production compose (not .n.)', { compose_id: 'Fedora-26-20170705.0' }],
    ['another variant', { variant: 'Workstation' }],
    ['another ref', { ref: 'fedora/26/x86_64/workstation' }],
    ['an arch no stream has', { arch: 'ppc64le' }],
    ['a compose id that may not reach a command line', { compose_id: 'Fedora-26-x.n.1;rm' }],
  ])('ignores %s', (_, overrides) => {
    const p = pungi();
    expect(p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86, overrides))).toEqual(expect.objectContaining({ emit: [], jobs: [], patches: [] }));
  });

  it('keeps no state for the status of a compose no stream takes', () => {
    const p = pungi();
    expect(p.send('pungi.compose.status.change', statusMessage('FINISHED', 'Fedora-Rawhide-20170705.n.0'))).toMatchObject({ emit: [], patches: [] });
  });

  it('matches compose ids by glob, in linear time', () => {
    expect(globMatches('Fedora-26-*.n.*', 'Fedora-26-20170705.n.0')).toBe(true);
    expect(globMatches('Fedora-26-*.n.*', 'Fedora-26-20170705.0')).toBe(false);
    expect(globMatches('Fedora-IoT-3?-*', 'Fedora-IoT-31-20191011.0')).toBe(true);
    expect(globMatches('*', '')).toBe(true);
    expect(globMatches('a*b*c', 'a-b-b-c')).toBe(true);
    expect(globMatches('a*b', 'ab')).toBe(true);
    expect(globMatches('a*b', 'abc')).toBe(false);
    expect(globMatches('Fedora-26-?', 'Fedora-26-')).toBe(false);
    expect(globMatches(`${'*a'.repeat(60)}b`, 'a'.repeat(128))).toBe(false);
  });
});

describe('artifacts of a Pungi commit', () => {
  const withArtifacts = () =>
    pungi({
      stream: () => `    artifacts:
      - { name: qcow2, kind: image, platform: qemu, format: qcow2, failable: true, output: "{outputDir}/*.qcow2", command: [koji, image-build, --wait] }`,
    });
  const request = (h: Harness, arch: string, commit: string) => {
    const spec = { composeId: `arch-${arch}`, stream: `f26-atomic-host-${arch}`, commit, version: NIGHTLY, name: 'qcow2', kind: 'image', platform: 'qemu', format: 'qcow2', failable: true, pungiComposeId: NIGHTLY };
    h.send('relengd.artifact.build.requested', spec);
    return spec;
  };

  it('waits for the builds, and a failed failable one makes the compose FINISHED_INCOMPLETE', () => {
    const p = withArtifacts();
    p.send('pungi.compose.ostree', ostreeMessage('x86_64', X86));
    p.send('pungi.compose.ostree', ostreeMessage('aarch64', ARM));
    p.found('x86_64');
    p.found('aarch64');
    const x86 = request(p.h, 'x86_64', X86);
    const arm = request(p.h, 'aarch64', ARM);
    expect(p.send('pungi.compose.status.change', statusMessage('FINISHED')).emit).toEqual([]);
    const built = p.send('relengd.artifact.build.finished', { ...x86, path: '/jobs/1/out/a.qcow2', sha256: 'f'.repeat(64), size: 10 });
    expect(finished(built)).toMatchObject([{ arch: 'x86_64', status: 'FINISHED', artifacts: [{ name: 'qcow2', path: '/jobs/1/out/a.qcow2' }] }]);
    const failed = p.send('relengd.artifact.build.failed', { ...arm, error: 'koji task failed', log: null });
    expect(finished(failed)).toMatchObject([{ arch: 'aarch64', status: 'FINISHED_INCOMPLETE', artifacts: [] }]);
  });
});
