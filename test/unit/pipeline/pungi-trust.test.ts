/**
 * Pungi's topics under the trust model: external facts, bound on the broker, taken from anyone
 * unless `publishers.<topic>` names who may send them, and then only from those. A real store (in
 * memory), the real intake and listeners.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bindingKeysFor } from '../../../src/bus/amqp/index.ts';
import { fixedClock } from '../../../src/clock.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { silentLogger } from '../../../src/log.ts';
import { Dispatcher } from '../../../src/pipeline/dispatcher.ts';
import { Intake, type Delivery } from '../../../src/pipeline/intake.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { Router } from '../../../src/pipeline/router.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { bindFromOutside, topicKind } from '../../../src/trust.ts';
import { ostreeMessage, pungiConfigYaml, statusMessage } from '../../helpers/pungi.ts';

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

const PUNGI_TOPICS = ['pungi.compose.ostree', 'pungi.compose.status.change'] as const;
const COMMIT = 'a'.repeat(64);

/** The Pungi config with `publishers` rules added. */
function setup(publishers: string) {
  const store = Store.open(':memory:');
  stores.push(store);
  const yaml = pungiConfigYaml('/srv/relengd').replace('publishers:\n', `publishers:\n${publishers}`);
  const config = parseConfig(yaml, {});
  const clock = fixedClock('2026-11-26T12:00:00Z');
  const api = new SqliteStore(store);
  const intake = new Intake({ store: api, config, clock, logger: silentLogger() });
  const dispatcher = new Dispatcher({ store: api, router: new Router(allListeners), config, clock, logger: silentLogger() });
  return { store, intake, dispatcher, config };
}

function delivery(topic: string, data: unknown, publisher: string | undefined, source: Delivery['source'] = 'live'): Delivery {
  return { transport: 'test', source, raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: { topic: `org.fedoraproject.prod.${topic}`, data, publisher } };
}

describe("Pungi's topics", () => {
  it('are external facts, bound on the broker with and without the prefix', () => {
    const router = new Router(allListeners);
    for (const topic of PUNGI_TOPICS) {
      expect(topicKind(topic)).toBe('external');
      expect(bindFromOutside(topic, {})).toBe(true);
    }
    const keys = bindingKeysFor(router.patterns().filter((p) => bindFromOutside(p, {})), 'org.fedoraproject.prod');
    expect(keys).toEqual(expect.arrayContaining([...PUNGI_TOPICS, ...PUNGI_TOPICS.map((t) => `org.fedoraproject.prod.${t}`)]));
  });

  it('are refused from an identity publishers.<topic> does not name, and from no identity, and start nothing', async () => {
    const { store, intake, dispatcher } = setup('  pungi.compose.ostree: [pungi]\n  pungi.compose.status.change: [pungi]\n');
    const outcomes = await intake.accept([
      delivery('pungi.compose.ostree', ostreeMessage('x86_64', COMMIT), 'mallory'),
      delivery('pungi.compose.status.change', statusMessage('FINISHED'), 'mallory'),
      delivery('pungi.compose.ostree', ostreeMessage('aarch64', COMMIT), undefined),
    ]);
    expect(outcomes).toMatchObject([
      { kind: 'rejected', error: { reason: 'unauthorized', message: 'pungi.compose.ostree is accepted only from pungi; sender was mallory' } },
      { kind: 'rejected', error: { reason: 'unauthorized' } },
      { kind: 'rejected', error: { reason: 'unauthorized', message: 'pungi.compose.ostree is accepted only from pungi; sender was (not authenticated)' } },
    ]);
    await dispatcher.dispatchBatch();
    expect(store.events.count()).toBe(0);
    expect(store.jobs.list({})).toEqual([]);
    expect(store.rejected.list().map((r) => r.reason)).toEqual(['unauthorized', 'unauthorized', 'unauthorized']);
  });

  it('are taken from the identity the rule names, and the commit is then looked for', async () => {
    const { store, intake, dispatcher } = setup('  pungi.compose.ostree: [pungi]\n');
    expect(await intake.accept([delivery('pungi.compose.ostree', ostreeMessage('x86_64', COMMIT), 'pungi')])).toMatchObject([{ kind: 'committed' }]);
    await dispatcher.dispatchBatch();
    expect(store.jobs.list({ kind: 'pungi-commit' })).toHaveLength(1);
  });

  it('are taken from anyone when no rule names them, and from an archive the operator replays', async () => {
    const { intake } = setup('');
    expect(await intake.accept([delivery('pungi.compose.ostree', ostreeMessage('x86_64', COMMIT), 'anyone')])).toMatchObject([{ kind: 'committed' }]);
    const ruled = setup('  pungi.compose.status.change: [pungi]\n');
    expect(await ruled.intake.accept([delivery('pungi.compose.status.change', statusMessage('FINISHED'), undefined, 'archive')])).toMatchObject([{ kind: 'committed' }]);
  });
});
