import { describe, expect, it } from 'vitest';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import type { ListenerContext } from '../../../src/pipeline/listener.ts';
import { updatesMashed } from '../../../src/pipeline/listeners/updates-mashed.ts';
import { testConfig } from '../../helpers/config.ts';
import { fixturesMissingReason, fixturesPresent, loadFixture } from '../../helpers/fixtures.ts';

const context: ListenerContext = {
  config: testConfig('/srv/relengd'),
  state: { get: () => undefined, list: () => [] },
};

function event(topic: string, body: unknown, id = 'cause-1') {
  return makeEnvelope({ topic, data: body, id }, { receivedAt: '2026-11-26T00:00:00.000Z' });
}

describe('updates-mashed', () => {
  it('asks for a compose of every stream fed by the mashed repo', () => {
    const decision = updatesMashed.handle(event('org.fedoraproject.prod.bodhi.compose.complete', { repo: 'f26-updates', success: true }), context);
    expect(decision.jobs).toEqual([]);
    expect(decision.patches).toEqual([
      { namespace: 'version-counter', key: 'f26-atomic-host/20261126', value: { next: 1, byCause: { 'cause-1': 0 }, composes: 1, composeByCause: { 'cause-1': 0 } } },
      // Until a compose of it commits, the version may be given back.
      { namespace: 'version-use', key: 'f26-atomic-host/26.20261126.0', value: { counter: 'f26-atomic-host/20261126', n: 0, waiting: ['f26-atomic-host-x86_64', 'f26-atomic-host-aarch64'] } },
    ]);
    expect(decision.emit).toEqual([
      {
        topic: 'relengd.ostree.compose.requested',
        key: 'f26-atomic-host-x86_64',
        subject: 'fedora/26/x86_64/updates/atomic-host',
        data: {
          stream: 'f26-atomic-host-x86_64',
          ref: 'fedora/26/x86_64/updates/atomic-host',
          treefile: 'fedora-atomic-host.json',
          version: '26.20261126.0',
          composeId: 'f26-atomic-host-20261126.0',
          causes: [{ id: 'cause-1', topic: 'bodhi.compose.complete' }],
        },
      },
      expect.objectContaining({ key: 'f26-atomic-host-aarch64', subject: 'fedora/26/aarch64/updates/atomic-host', data: expect.objectContaining({ version: '26.20261126.0' }) }),
    ]);
  });

  it('numbers the group\'s composes of the day, and gives the same trigger the same version again', () => {
    const state = new Map<string, unknown>();
    const ctx: ListenerContext = { ...context, state: { get: (ns, key) => state.get(`${ns}/${key}`), list: () => [] } };
    const versions = (id: string) => {
      const decision = updatesMashed.handle(event('bodhi.compose.complete', { repo: 'f26-updates', success: true }, id), ctx);
      for (const p of decision.patches) state.set(`${p.namespace}/${p.key}`, p.value);
      return decision.emit.map((e) => (e.data as { version: string }).version);
    };
    expect(versions('first')).toEqual(['26.20261126.0', '26.20261126.0']);
    expect(versions('second')).toEqual(['26.20261126.1', '26.20261126.1']);
    expect(versions('first')).toEqual(['26.20261126.0', '26.20261126.0']);
    expect(versions('third')).toEqual(['26.20261126.2', '26.20261126.2']);
  });

  it('triggers nothing for a failed Bodhi compose', () => {
    const decision = updatesMashed.handle(event('bodhi.compose.complete', { repo: 'f26-updates', success: false }), context);
    expect(decision.emit).toEqual([]);
  });

  it('triggers nothing for a repo no stream lists', () => {
    const decision = updatesMashed.handle(event('bodhi.compose.complete', { repo: 'f27-updates-testing', success: true }), context);
    expect(decision.emit).toEqual([]);
  });

  it('understands the fedmsg-era mashtask.complete and updates.fedora.sync messages', () => {
    const mash = updatesMashed.handle(event('bodhi.mashtask.complete', { repo: 'f26-updates', success: true }), context);
    const sync = updatesMashed.handle(event('bodhi.updates.fedora.sync', { release: '26', repo: 'updates' }), context);
    expect(mash.emit.map((e) => e.key)).toEqual(['f26-atomic-host-x86_64', 'f26-atomic-host-aarch64']);
    expect(sync.emit.map((e) => e.key)).toEqual(['f26-atomic-host-x86_64', 'f26-atomic-host-aarch64']);
  });

  describe.skipIf(!fixturesPresent)(`on real Fedora messages (${fixturesPresent ? 'fixtures present' : `skipped: ${fixturesMissingReason}`})`, () => {
    it('ignores the real failed compose (bodhi.compose.complete.3) even for a stream that lists its repo', () => {
      const fixture = loadFixture('bodhi.compose.complete.3.json');
      const repo = (fixture.body as { repo: string }).repo;
      const config = testConfig('/srv/relengd');
      config.streams[0]!.triggers.updatesRepos = [repo];
      const decision = updatesMashed.handle(event(fixture.topic, fixture.body), { ...context, config });
      expect(decision.emit).toEqual([]);
    });

    it('composes from the real successful compose of f17-updates-testing when a stream lists it', () => {
      const fixture = loadFixture('bodhi.compose.complete.4.json');
      const config = testConfig('/srv/relengd');
      config.streams[1]!.triggers.updatesRepos = ['f17-updates-testing'];
      const decision = updatesMashed.handle(event(fixture.topic, fixture.body), { ...context, config });
      expect(decision.emit.map((e) => e.key)).toEqual(['f26-atomic-host-aarch64']);
    });
  });
});
