import { describe, expect, it } from 'vitest';
import type { TopicPattern } from '../../../src/events/catalogue.ts';
import { nothing, type Listener } from '../../../src/pipeline/listener.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { Router } from '../../../src/pipeline/router.ts';

const listening = (name: string, topics: TopicPattern[]): Listener => ({ name, topics, handle: () => nothing() });

describe('router', () => {
  it('takes every subscription of the real listeners', () => {
    const router = new Router(allListeners);
    expect(router.match('relengd.ostree.compose.finished').map((l) => l.name)).toEqual(['composer', 'artifacts', 'compose-tracker', 'pungi-tracker', 'signer']);
    expect(router.match('fas.user.create')).toEqual([]);
  });

  it('routes by pattern, in registration order', () => {
    const router = new Router([listening('all-ostree', ['relengd.ostree.#']), listening('finished', ['relengd.*.compose.finished'])]);
    expect(router.match('relengd.ostree.compose.finished').map((l) => l.name)).toEqual(['all-ostree', 'finished']);
    expect(router.match('relengd.ostree.compose.failed').map((l) => l.name)).toEqual(['all-ostree']);
  });

  it('refuses a pattern that matches no catalogue topic: a typo would leave the listener silently deaf', () => {
    expect(() => new Router([listening('typo', ['relengd.ostree.compse.*'])])).toThrow('listener typo subscribes to relengd.ostree.compse.*, which matches no topic of the event catalogue');
    // Plain names are checked by the compiler (`npm test` type-checks this line); one that slips past it (a cast, plain JS) is refused too.
    // @ts-expect-error: not a catalogue topic, and not a pattern
    void listening('plain-typo', ['buildsys.tagged']);
    expect(() => new Router([listening('cast', ['buildsys.tagged' as TopicPattern])])).toThrow(/subscribes to buildsys\.tagged, which matches no topic/);
  });

  it('refuses two listeners with one name', () => {
    expect(() => new Router([listening('twin', ['buildsys.tag']), listening('twin', ['buildsys.untag'])])).toThrow('duplicate listener name twin');
  });
});
