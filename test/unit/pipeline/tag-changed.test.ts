import { describe, expect, it } from 'vitest';
import { STREAM_HEAD } from '../../../src/pipeline/listeners/composer.ts';
import { tagChanged } from '../../../src/pipeline/listeners/tag-changed.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const tagged = { tag: 'f26-atomic', name: 'lorax-templates', version: '26', release: '3.fc26', build_id: 1, user: 'releng', owner: 'releng', tag_id: 3429 };

describe('tag-changed', () => {
  it('asks for composes of the streams whose compose depends on the tag, one version for the group', () => {
    const h = listenerHarness(tagChanged, testConfig('/srv/relengd'));
    const decision = h.send('org.fedoraproject.prod.buildsys.tag', tagged);
    expect(decision.emit.map((e) => [e.topic, e.key, (e.data as { version: string }).version])).toEqual([
      ['relengd.ostree.compose.requested', 'f26-atomic-host-x86_64', '26.20261126.0'],
      ['relengd.ostree.compose.requested', 'f26-atomic-host-aarch64', '26.20261126.0'],
    ]);
  });

  it('ignores a tag no stream lists', () => {
    const h = listenerHarness(tagChanged, testConfig('/srv/relengd'));
    expect(h.send('buildsys.untag', { ...tagged, tag: 'f27-updates-testing-pending' }).emit).toEqual([]);
  });

  describe('for a stream that only rebuilds its artifacts from the tag', () => {
    const config = () => {
      const c = testConfig('/srv/relengd', { stream: artifactsAndPromotion() });
      for (const s of c.streams) s.triggers.tags = [{ tag: 'f26-atomic', action: 'artifacts', on: ['repo.done'] }];
      return c;
    };

    it('rebuilds installer and images from the current commit, as a compose of its own', () => {
      const h = listenerHarness(tagChanged, config());
      h.set(STREAM_HEAD, 'f26-atomic-host-x86_64', { composeId: 'c1', commit: 'a'.repeat(64), version: '26.20261126.0', ref: 'r' });
      const decision = h.send('buildsys.repo.done', { tag: 'f26-atomic', tag_id: 3429, repo_id: 1, instance: 'primary' }, { id: 'repo-done-1' });
      expect(decision.emit.map((e) => [e.topic, (e.data as { name: string }).name, (e.data as { commit: string }).commit])).toEqual([
        ['relengd.artifact.build.requested', 'installer', 'a'.repeat(64)],
        ['relengd.artifact.build.requested', 'qcow2', 'a'.repeat(64)],
      ]);
      const composeIds = new Set(decision.emit.map((e) => (e.data as { composeId: string }).composeId));
      expect(composeIds.size).toBe(1);
      expect(composeIds.has('c1')).toBe(false);
    });

    it('does nothing before the stream has a commit, nor on events the trigger does not list', () => {
      const h = listenerHarness(tagChanged, config());
      expect(h.send('buildsys.repo.done', { tag: 'f26-atomic', tag_id: 3429, repo_id: 1 }).emit).toEqual([]);
      h.set(STREAM_HEAD, 'f26-atomic-host-x86_64', { composeId: 'c1', commit: 'a'.repeat(64), version: '26.1', ref: 'r' });
      expect(h.send('buildsys.tag', tagged).emit).toEqual([]);
    });
  });
});
