/**
 * The seed's pre-release path end to end on real OSTree repositories: Pungi's nightly commits each
 * arch in its compose repo and finishes; relengd finds the commits there, announces the compose
 * under Pungi's id, and once Greenwave passes it pulls the commits into the public repo and moves
 * the release refs — or, for a DOOMED or incomplete compose, never does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/cli/daemon.ts';
import { NIGHTLY, PUNGI_ARCHES, nightlyRef, ostreeMessage, releaseRef, startPungiPipeline, statusMessage } from '../helpers/pungi.ts';
import { tempDir } from '../helpers/tmp.ts';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function pipeline() {
  const p = await startPungiPipeline(tempDir());
  daemon = p.daemon;
  const commits = { x86_64: await p.pungiCommit('x86_64', '26.20170705.n.0'), aarch64: await p.pungiCommit('aarch64', '26.20170705.n.0') };
  return { ...p, commits };
}

type Pipeline = Awaited<ReturnType<typeof pipeline>>;

/** The announced composes, by arch: [arch, compose id, version, status, whether the commit is the one Pungi made for the arch]. */
const composesOf = (p: Pipeline) =>
  p
    .events('relengd.compose.finished')
    .map((c) => [c.arch, c.composeId, c.version, c.status, c.commit === p.commits[c.arch as 'x86_64']])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

async function expectPromoted(p: Pipeline): Promise<void> {
  const [promoted, ...more] = p.events('relengd.release.promoted');
  expect(more).toEqual([]);
  expect(promoted).toMatchObject({ group: 'f26-atomic-host', version: NIGHTLY });
  for (const arch of PUNGI_ARCHES) {
    // Pulled in from the compose repo: the public repo holds Pungi's commit, and the release ref a commit of its tree.
    expect(await p.pub.hasCommit(p.commits[arch])).toBe(true);
    const released = await p.pub.revParse(releaseRef(arch));
    expect(released).toBe((promoted!.refs as Array<{ arch: string; to: string }>).find((r) => r.arch === arch)!.to);
    expect(await p.pub.sameTree(released!, p.commits[arch])).toBe(true);
    expect(await p.pub.metadata(released!, 'version')).toBe('26.20170705.n.0');
  }
  expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toHaveLength(1);
}

describe("a Pungi nightly on real repositories", () => {
  it('becomes a release: two arches committed, FINISHED, gated, pulled into the public repo and promoted', { timeout: 120_000 }, async () => {
    const p = await pipeline();
    await p.send('pungi.compose.ostree', ostreeMessage('x86_64', p.commits.x86_64));
    await p.send('pungi.compose.ostree', ostreeMessage('aarch64', p.commits.aarch64));
    // Found in the compose repo, announced as each stream's compose; the compose itself waits for Pungi.
    expect(p.events('relengd.ostree.compose.finished').map((c) => [c.ref, c.commit, c.pungiComposeId])).toEqual([
      [nightlyRef('x86_64'), p.commits.x86_64, NIGHTLY],
      [nightlyRef('aarch64'), p.commits.aarch64, NIGHTLY],
    ]);
    expect(p.events('relengd.compose.finished')).toEqual([]);
    await p.send('pungi.compose.status.change', statusMessage('STARTED'));
    expect(p.events('relengd.compose.finished')).toEqual([]);

    await p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    expect(composesOf(p)).toEqual([
      ['aarch64', NIGHTLY, NIGHTLY, 'FINISHED', true],
      ['x86_64', NIGHTLY, NIGHTLY, 'FINISHED', true],
    ]);
    expect(await p.pub.revParse(releaseRef('x86_64'))).toBeNull(); // gated: not before Greenwave

    await p.greenwave();
    await expectPromoted(p);
    // Pungi's refs are Pungi's: the public repo has only the release refs.
    expect(await p.pub.refs()).toEqual([releaseRef('aarch64'), releaseRef('x86_64')]);
  });

  it('ends the same when the messages come out of order and more than once', { timeout: 120_000 }, async () => {
    const p = await pipeline();
    await p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    await p.send('pungi.compose.ostree', ostreeMessage('aarch64', p.commits.aarch64));
    await p.greenwave();
    await p.send('pungi.compose.ostree', ostreeMessage('aarch64', p.commits.aarch64)); // again, under another id
    await p.send('pungi.compose.status.change', statusMessage('FINISHED')); // again
    await p.send('pungi.compose.ostree', ostreeMessage('x86_64', p.commits.x86_64), { id: 'x86-nightly' });
    await p.send('pungi.compose.ostree', ostreeMessage('x86_64', p.commits.x86_64), { id: 'x86-nightly' }); // redelivered
    await p.send('pungi.compose.status.change', statusMessage('STARTED')); // late, and not final

    expect(composesOf(p)).toEqual([
      ['aarch64', NIGHTLY, NIGHTLY, 'FINISHED', true],
      ['x86_64', NIGHTLY, NIGHTLY, 'FINISHED', true],
    ]);
    expect(await p.daemon.store.jobs.list({ kind: 'pungi-commit' })).toHaveLength(2);
    await expectPromoted(p);
  });

  it('never promotes a DOOMED compose, even with every commit in and Greenwave passing', { timeout: 120_000 }, async () => {
    const p = await pipeline();
    await p.send('pungi.compose.ostree', ostreeMessage('x86_64', p.commits.x86_64));
    await p.send('pungi.compose.ostree', ostreeMessage('aarch64', p.commits.aarch64));
    await p.send('pungi.compose.status.change', statusMessage('DOOMED'));
    await p.greenwave();
    await p.send('pungi.compose.status.change', statusMessage('FINISHED')); // too late: DOOMED was final
    expect(p.events('relengd.compose.finished').map((c) => c.status)).toEqual(['DOOMED', 'DOOMED']);
    expect(p.events('relengd.release.promotion.refused').map((r) => r.reason)).toEqual(['status-not-accepted', 'status-not-accepted']);
    expect(p.events('relengd.release.promoted')).toEqual([]);
    expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toEqual([]);
    for (const arch of PUNGI_ARCHES) expect(await p.pub.revParse(releaseRef(arch))).toBeNull();
  });

  it("refuses a FINISHED compose missing one arch's commit, naming the arch, and promotes nothing", { timeout: 120_000 }, async () => {
    const p = await pipeline();
    await p.send('pungi.compose.ostree', ostreeMessage('x86_64', p.commits.x86_64));
    await p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    await p.greenwave();
    const [refusal, ...more] = p.events('relengd.release.promotion.refused');
    expect(more).toEqual([]);
    expect(refusal).toMatchObject({ group: 'f26-atomic-host', version: NIGHTLY, reason: 'arch-missing' });
    expect(refusal!.detail).toBe(`Pungi compose ${NIGHTLY} is FINISHED without a usable commit for aarch64 (aarch64: no pungi.compose.ostree for ${nightlyRef('aarch64')} (variant Atomic))`);
    expect(p.events('relengd.release.promoted')).toEqual([]);
    for (const arch of PUNGI_ARCHES) expect(await p.pub.revParse(releaseRef(arch))).toBeNull();
  });

  it('refuses an arch whose announced commit is not in the compose repo, with why', { timeout: 120_000 }, async () => {
    const p = await pipeline();
    const elsewhere = 'e'.repeat(64);
    await p.send('pungi.compose.ostree', ostreeMessage('x86_64', p.commits.x86_64));
    await p.send('pungi.compose.ostree', ostreeMessage('aarch64', elsewhere));
    await p.send('pungi.compose.status.change', statusMessage('FINISHED'));
    await p.greenwave();
    expect(p.events('relengd.release.promotion.refused').map((r) => r.detail)).toEqual([
      `Pungi compose ${NIGHTLY} is FINISHED without a usable commit for aarch64 (aarch64: commit ${elsewhere} is not in the compose repository ${p.compose.path})`,
    ]);
    expect(p.events('relengd.release.promoted')).toEqual([]);
  });
});
