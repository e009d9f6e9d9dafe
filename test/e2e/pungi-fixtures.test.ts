/**
 * Real Pungi messages (../shared/fixtures/fedora-messages) through relengd on real OSTree
 * repositories, with a configuration that takes their compose ids, variants, arches and refs:
 * each ostree message becomes a release candidate once its compose finishes.
 *
 * Two changes to the captures, and only these: a `commitid` names a commit in Fedora's repository,
 * which no test can recreate (a checksum covers the content and its time), so the test makes a
 * commit under the message's ref in a temporary compose repository and puts its checksum there
 * (the IoT capture's is the placeholder `deadbeef`, which relengd refuses as it is: tested too);
 * and no captured status message is about a compose a captured ostree message is from, so the
 * FINISHED capture is sent with the ostree message's `compose_id`.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/cli/daemon.ts';
import { topicSpec } from '../../src/events/catalogue.ts';
import { splitTopic } from '../../src/events/topics.ts';
import { PROMOTION, type Candidate } from '../../src/pipeline/listeners/promoter.ts';
import { fixturesMissingReason, fixturesPresent, loadFixture, loadFixtures } from '../helpers/fixtures.ts';
import { startPungiPipeline } from '../helpers/pungi.ts';
import { tempDir } from '../helpers/tmp.ts';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

type Body = Record<string, unknown>;

/** One stream per captured ostree message, taking its compose id, variant, arch and ref. */
function fixturesConfig(dir: string): string {
  const stream = (s: { id: string; group: string; release: string; arch: string; composeId: string; variant: string; ref: string; release_ref: string }) => `
  - id: ${s.id}
    group: ${s.group}
    release: "${s.release}"
    arch: ${s.arch}
    triggers:
      pungi: { composeId: "${s.composeId}", variant: ${s.variant}, repo: ${join(dir, 'compose-repo')} }
    ostree:
      repo: ${join(dir, 'repo')}
      ref: ${s.ref}
      treefile: tree.json
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "{treefile}"]
    promote:
      ref: ${s.release_ref}
      from: { repo: ${join(dir, 'compose-repo')} }
      gates: [{ greenwave: { decisionContext: atomic_nightly } }]`;
  return `topicPrefix: org.fedoraproject.prod
store: { path: ${join(dir, 'relengd.db')} }
http: { host: 127.0.0.1, port: 0 }
jobs: { workdir: ${join(dir, 'jobs')} }
log: { level: warn }
streams:${[
    { id: 'f25-atomic-docker-host-x86_64', group: 'f25-atomic-docker-host', release: '25', arch: 'x86_64', composeId: 'Fedora-25-*.n.*', variant: 'Atomic', ref: 'fedora-atomic/25/x86_64/docker-host', release_ref: 'fedora-atomic/25/x86_64/stable/docker-host' },
    { id: 'iot-31-armhfp', group: 'fedora-iot-31', release: '31', arch: 'armhfp', composeId: 'Fedora-IoT-31-*', variant: 'IoT', ref: 'fedora/devel/armhfp/iot', release_ref: 'fedora/stable/armhfp/iot' },
    { id: 'f24-atomic-x86_64', group: 'f24-atomic', release: '24', arch: 'x86_64', composeId: 'Fedora-24-*.n.*', variant: 'Atomic', ref: 'fedora-atomic/24/x86_64/docker-host', release_ref: 'fedora-atomic/24/x86_64/stable/docker-host' },
  ]
    .map(stream)
    .join('')}
`;
}

const title = (what: string) => (fixturesPresent ? what : `${what} (skipped: ${fixturesMissingReason})`);

describe.skipIf(!fixturesPresent)(title('real Pungi messages through relengd'), () => {
  it('every captured Pungi message of a catalogued topic validates unchanged', () => {
    const pungi = loadFixtures().filter((f) => splitTopic(f.topic).name.startsWith('pungi.compose.') && topicSpec(splitTopic(f.topic).name));
    expect(pungi.map((f) => f.file).sort()).toEqual(['pungi.compose.ostree.1.json', 'pungi.compose.ostree.2.json', 'pungi.compose.status.change.1.json', 'pungi.compose.status.change.2.json', 'pungi.compose.status.change.3.json']);
    for (const f of pungi) expect(topicSpec(splitTopic(f.topic).name)!.schema.safeParse(f.body).success, f.file).toBe(true);
  });

  it('make a release candidate of each captured ostree message once its compose is FINISHED', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const p = await startPungiPipeline(dir, { yaml: fixturesConfig(dir) });
    daemon = p.daemon;
    const finished = loadFixture('pungi.compose.status.change.2.json');
    expect((finished.body as Body).status).toBe('FINISHED');

    for (const file of ['pungi.compose.ostree.1.json', 'pungi.compose.ostree.2.json']) {
      const fixture = loadFixture(file);
      const body = fixture.body as Body;
      const commit = await p.pungiCommit(String(body.arch), String(body.compose_id), String(body.ref));
      await p.send(fixture.topic, { ...body, commitid: commit }, fixture.id ? { id: fixture.id } : {});
      await p.send(finished.topic, { ...(finished.body as Body), compose_id: body.compose_id });

      const [announced] = p.events('relengd.compose.finished').filter((c) => c.composeId === body.compose_id);
      expect(announced, file).toMatchObject({ composeId: body.compose_id, version: body.compose_id, arch: body.arch, ref: body.ref, commit, status: 'FINISHED' });
      const candidate = await p.daemon.store.state.get(PROMOTION, `${String(announced!.group)}/${String(body.compose_id)}`) as Candidate;
      expect(candidate, file).toMatchObject({ phase: 'open', composes: { [String(body.arch)]: { composeId: body.compose_id, commit, status: 'FINISHED' } } });
    }
  });

  it('refuse the IoT capture as it is (its commitid is a placeholder), naming the arch', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const p = await startPungiPipeline(dir, { yaml: fixturesConfig(dir) });
    daemon = p.daemon;
    const iot = loadFixture('pungi.compose.ostree.2.json');
    await p.send(iot.topic, iot.body);
    const finished = loadFixture('pungi.compose.status.change.2.json');
    await p.send(finished.topic, { ...(finished.body as Body), compose_id: (iot.body as Body).compose_id });
    expect(p.events('relengd.release.promotion.refused').map((r) => r.detail)).toEqual([
      'Pungi compose Fedora-IoT-31-20191011.0 is FINISHED without a usable commit for armhfp (armhfp: Pungi announced commit "deadbeef" for fedora/devel/armhfp/iot, which is not an OSTree checksum (64 hex digits))',
    ]);
    expect(p.events('relengd.compose.finished')).toEqual([]);
  });

  it('take the captured status messages as they are: STARTED changes nothing, FINISHED without a commit refuses, TERMINATED after it changes nothing', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const p = await startPungiPipeline(dir, { yaml: fixturesConfig(dir) });
    daemon = p.daemon;
    const send = async (file: string) => {
      const f = loadFixture(file);
      await p.send(f.topic, f.body, f.id ? { id: f.id } : {});
    };
    await send('pungi.compose.status.change.1.json');
    expect(p.events('relengd.release.promotion.refused')).toEqual([]);
    await send('pungi.compose.status.change.2.json');
    expect(p.events('relengd.release.promotion.refused')).toMatchObject([{ group: 'f24-atomic', version: 'Fedora-24-20151208.n.7', reason: 'arch-missing' }]);
    await send('pungi.compose.status.change.3.json');
    expect(p.events('relengd.release.promotion.refused')).toHaveLength(1);
    expect(p.events('relengd.compose.finished')).toEqual([]);
  });
});
