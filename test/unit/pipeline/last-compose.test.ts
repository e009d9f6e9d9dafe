import { afterEach, describe, expect, it } from 'vitest';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import { lastCompose } from '../../../src/pipeline/last-compose.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfig } from '../../helpers/config.ts';
import { NIGHTLY, nightlyRef, pungiConfig } from '../../helpers/pungi.ts';

const STREAM = 'f26-atomic-host-x86_64';
const REF = 'fedora/26/x86_64/updates/atomic-host';
const COMMIT = 'c'.repeat(64);
const LOCATION = `https://kojipkgs.example.org/compose/branched/${NIGHTLY}/compose`;

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

/** A store holding the given events, in that order, as relengd stored them. */
function storeWith(events: Array<{ topic: string; data: Record<string, unknown>; subject?: string }>): Store {
  const store = Store.open(':memory:');
  stores.push(store);
  events.forEach(({ topic, data, subject }, n) => {
    const at = new Date(Date.UTC(2026, 11, 1, 10, 0, n)).toISOString();
    store.events.insert(makeEnvelope({ topic, id: `event-${n}`, data, subject, time: at }, { receivedAt: at }), { origin: 'emitted', transport: 'internal', receivedAt: at });
  });
  return store;
}

const artifact = (composeId: string, name: string, failable: boolean) => ({ composeId, stream: STREAM, commit: COMMIT, name, kind: name === 'installer' ? 'installer' : 'image', platform: 'metal', format: 'iso', failable, version: '26.1' });
const built = (composeId: string, name: string) => ({ topic: 'relengd.artifact.build.finished', subject: REF, data: { ...artifact(composeId, name, true), path: `/srv/${name}`, sha256: 'd'.repeat(64), size: 1 } });
const artifactFailed = (composeId: string, name: string, error: string) => ({ topic: 'relengd.artifact.build.failed', subject: REF, data: { ...artifact(composeId, name, true), error, log: `/jobs/${composeId}-${name}/log` } });
const composeFailed = (composeId: string, error: string) => ({ topic: 'relengd.ostree.compose.failed', subject: REF, data: { composeId, stream: STREAM, ref: REF, version: '26.1', error, log: `/jobs/${composeId}/log` } });
const finished = (composeId: string, status: string, commit: string | null, artifacts: string[] = []) => ({
  topic: 'relengd.compose.finished',
  subject: REF,
  data: { composeId, stream: STREAM, group: 'f26-atomic-host', arch: 'x86_64', ref: REF, commit, version: '26.1', status, artifacts: artifacts.map((name) => ({ name, kind: 'image', platform: 'qemu', format: 'qcow2', path: `/srv/${name}`, sha256: 'd'.repeat(64), size: 1 })) },
});

describe('lastCompose', () => {
  const config = testConfig('/srv/relengd');
  const stream = config.streams.find((s) => s.id === STREAM)!;

  it('names each artifact whose build failed, with its error and log, for a compose that finished incomplete', async () => {
    const store = storeWith([built('c-1', 'qcow2'), artifactFailed('c-1', 'installer', 'lorax exited with 1'), finished('c-1', 'FINISHED_INCOMPLETE', COMMIT, ['qcow2'])]);
    expect(await lastCompose(new SqliteStore(store), stream, 500)).toMatchObject({
      composeId: 'c-1',
      status: 'FINISHED_INCOMPLETE',
      commit: COMMIT,
      reasons: [{ kind: 'artifact', name: 'installer', error: 'lorax exited with 1', log: '/jobs/c-1-installer/log', eventId: 'event-1' }],
    });
  });

  it("says why the newest compose is DOOMED, not an older compose's failure", async () => {
    const store = storeWith([composeFailed('c-1', 'mirror down'), finished('c-1', 'DOOMED', null), composeFailed('c-2', 'rpm-ostree exited with 1'), finished('c-2', 'DOOMED', null)]);
    expect(await lastCompose(new SqliteStore(store), stream, 500)).toMatchObject({ composeId: 'c-2', status: 'DOOMED', reasons: [{ kind: 'compose', error: 'rpm-ostree exited with 1', log: '/jobs/c-2/log' }] });
  });

  it('gives no reasons for a FINISHED compose, though an earlier run of it failed (a retry)', async () => {
    const store = storeWith([composeFailed('c-1', 'mirror down'), finished('c-1', 'DOOMED', null), finished('c-1', 'FINISHED', COMMIT)]);
    expect(await lastCompose(new SqliteStore(store), stream, 500)).toMatchObject({ composeId: 'c-1', status: 'FINISHED', commit: COMMIT, reasons: [] });
  });

  it('is none for a stream that never composed', async () => {
    expect(await lastCompose(new SqliteStore(storeWith([])), stream, 500)).toBeNull();
  });

  describe("of a stream Pungi composes", () => {
    const pungi = pungiConfig('/srv/relengd');
    const nightly = pungi.streams.find((s) => s.id === STREAM)!;
    const ref = nightlyRef('x86_64');
    const statusChange = (status: string) => ({ topic: 'pungi.compose.status.change', data: { compose_id: NIGHTLY, status, location: LOCATION } });
    const pungiFinished = (status: string) => ({ topic: 'relengd.compose.finished', subject: ref, data: { composeId: NIGHTLY, stream: STREAM, group: 'f26-atomic-host', arch: 'x86_64', ref, commit: null, version: NIGHTLY, status, artifacts: [] } });
    const refused = { topic: 'relengd.ostree.compose.failed', subject: ref, data: { composeId: 'arch-1', stream: STREAM, ref, version: NIGHTLY, error: `${'f'.repeat(64)} is not in the compose repository`, log: '/jobs/arch-1/log', pungiComposeId: NIGHTLY } };

    it("gives Pungi's word, and the compose's location, for a compose Pungi ended DOOMED", async () => {
      const store = storeWith([statusChange('TERMINATED'), pungiFinished('DOOMED')]);
      expect(await lastCompose(new SqliteStore(store), nightly, 500)).toMatchObject({
        composeId: NIGHTLY,
        status: 'DOOMED',
        reasons: [{ kind: 'pungi', name: null, error: `Pungi ended compose ${NIGHTLY} as TERMINATED`, log: LOCATION }],
      });
    });

    it("shows an arch's commit that could not be used, which no compose.finished followed, as FAILED with why", async () => {
      const store = storeWith([refused, statusChange('FINISHED')]);
      expect(await lastCompose(new SqliteStore(store), nightly, 500)).toMatchObject({ composeId: 'arch-1', version: NIGHTLY, status: 'FAILED', commit: null, reasons: [{ kind: 'compose', error: refused.data.error, log: '/jobs/arch-1/log' }] });
    });

    it('names the refused commit of a compose Pungi then ended DOOMED', async () => {
      const store = storeWith([refused, statusChange('DOOMED'), pungiFinished('DOOMED')]);
      expect(await lastCompose(new SqliteStore(store), nightly, 500)).toMatchObject({ status: 'DOOMED', reasons: [{ kind: 'compose', error: refused.data.error }] });
    });
  });
});
