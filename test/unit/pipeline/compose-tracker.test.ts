import { describe, expect, it } from 'vitest';
import { composeTracker } from '../../../src/pipeline/listeners/compose-tracker.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const COMMIT = 'c'.repeat(64);
const base = { composeId: 'compose-1', stream: 'f26-atomic-host-x86_64', commit: COMMIT, version: '26.20261126.0' };
const installer = { ...base, name: 'installer', kind: 'installer', platform: 'metal', format: 'iso' };
const qcow2 = { ...base, name: 'qcow2', kind: 'image', platform: 'qemu', format: 'qcow2' };
const built = (a: object, path: string) => ({ ...a, path, sha256: 'f'.repeat(64), size: 1024 });

function tracker(installerFailable = false) {
  const h = listenerHarness(composeTracker, testConfig('/srv/relengd', { stream: artifactsAndPromotion({ installerFailable }) }));
  h.send('relengd.artifact.build.requested', { ...installer, failable: installerFailable });
  h.send('relengd.artifact.build.requested', { ...qcow2, failable: true });
  return h;
}

describe('compose-tracker', () => {
  it('announces FINISHED with every artifact once all are built, and not before', () => {
    const h = tracker();
    const first = h.send('relengd.artifact.build.finished', built({ ...installer, failable: false }, '/jobs/1/out/images/boot.iso'));
    expect(first.emit).toEqual([]);
    const last = h.send('relengd.artifact.build.finished', built({ ...qcow2, failable: true }, '/jobs/2/out/a.qcow2'));
    expect(last.emit).toEqual([
      {
        topic: 'relengd.compose.finished',
        key: 'compose-1',
        subject: 'fedora/26/x86_64/updates/atomic-host',
        data: {
          composeId: 'compose-1',
          stream: 'f26-atomic-host-x86_64',
          group: 'f26-atomic-host',
          arch: 'x86_64',
          ref: 'fedora/26/x86_64/updates/atomic-host',
          commit: COMMIT,
          version: '26.20261126.0',
          status: 'FINISHED',
          artifacts: [
            { name: 'installer', kind: 'installer', platform: 'metal', format: 'iso', path: '/jobs/1/out/images/boot.iso', sha256: 'f'.repeat(64), size: 1024 },
            { name: 'qcow2', kind: 'image', platform: 'qemu', format: 'qcow2', path: '/jobs/2/out/a.qcow2', sha256: 'f'.repeat(64), size: 1024 },
          ],
        },
      },
    ]);
  });

  it('gives FINISHED_INCOMPLETE when only a failable image failed', () => {
    const h = tracker();
    h.send('relengd.artifact.build.failed', { ...qcow2, failable: true, error: 'koji task failed', log: '/jobs/2/job.log' });
    const done = h.send('relengd.artifact.build.finished', built({ ...installer, failable: false }, '/jobs/1/out/images/boot.iso'));
    expect(done.emit[0]?.data).toMatchObject({ status: 'FINISHED_INCOMPLETE', artifacts: [{ name: 'installer' }] });
  });

  it('gives DOOMED when a non-failable artifact failed', () => {
    const h = tracker(false);
    h.send('relengd.artifact.build.finished', built({ ...qcow2, failable: true }, '/a.qcow2'));
    const done = h.send('relengd.artifact.build.failed', { ...installer, failable: false, error: 'lorax failed', log: null });
    expect(done.emit[0]?.data).toMatchObject({ status: 'DOOMED' });
  });

  it('gives DOOMED, without a commit, when the compose itself failed', () => {
    const h = listenerHarness(composeTracker, testConfig('/srv/relengd'));
    const done = h.send('relengd.ostree.compose.failed', { composeId: 'c9', stream: 'f26-atomic-host-x86_64', ref: 'fedora/26/x86_64/updates/atomic-host', version: '26.1', error: 'rpm-ostree failed', log: '/x' });
    expect(done.emit[0]?.data).toMatchObject({ status: 'DOOMED', commit: null, composeId: 'c9' });
  });

  it('announces a stream without artifacts as FINISHED straight from its new commit', () => {
    const h = listenerHarness(composeTracker, testConfig('/srv/relengd'));
    const done = h.send('relengd.ostree.compose.finished', { composeId: 'c1', stream: 'f26-atomic-host-x86_64', ref: 'r', commit: COMMIT, parent: null, version: '26.1', duration: 1 });
    expect(done.emit[0]?.data).toMatchObject({ status: 'FINISHED', commit: COMMIT, artifacts: [] });
  });

  it('never announces a compose that made no new commit', () => {
    const h = listenerHarness(composeTracker, testConfig('/srv/relengd'));
    const done = h.send('relengd.ostree.compose.finished', { composeId: 'c1', stream: 'f26-atomic-host-x86_64', ref: 'r', commit: null, parent: COMMIT, version: '26.1', duration: 1 });
    expect(done.emit).toEqual([]);
  });

  it('counts a repeated build result once', () => {
    const h = tracker();
    h.send('relengd.artifact.build.finished', built({ ...installer, failable: false }, '/i.iso'));
    const again = h.send('relengd.artifact.build.finished', built({ ...installer, failable: false }, '/i.iso'));
    expect(again).toMatchObject({ emit: [], patches: [] });
  });
});
