/**
 * Contract (d): an event relengd publishes is marked sent in the outbox only once the transport
 * confirmed it: every event marked sent can be read back from the bus, and while the transport
 * does not confirm, nothing is marked sent and the events stay pending (with the error) for the
 * next try.
 */
import { expect, it, vi } from 'vitest';
import { storeEmitted } from '../../../src/store/emit.ts';
import type { SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { ContractNames } from './harness.ts';
import { forEachTransport, scenarios, transports } from './transports.ts';

const TOPIC = 'relengd.compose.finished';

forEachTransport('an event is marked sent only once the transport confirmed it', transports(), (adapter) => {
  const run = scenarios(adapter);

  it('marks sent what the transport confirmed, all of it on the bus, and keeps pending what it did not', { timeout: 60_000 }, async () => {
    const { names, relengd, bus } = await run.attach('publish', { topics: [], watch: [TOPIC] });
    const { store } = relengd;
    const first = await Promise.all([0, 1, 2].map((n) => emit(store, names, n)));
    expect(await bus.outbox.flushOnce()).toBe(0);
    expect(await store.outbox.countPending()).toBe(0);
    await vi.waitFor(async () => expect([...(await bus.published())].sort()).toEqual([...first].sort()), { timeout: 20_000, interval: 50 });
    expect(sentIds(store).sort()).toEqual([...first].sort());

    await bus.refusePublishing();
    const refused = await Promise.all([3, 4].map((n) => emit(store, names, n)));
    expect(await bus.outbox.flushOnce()).toBe(refused.length);
    expect(sentIds(store).sort()).toEqual([...first].sort());
    const pending = await store.outbox.pending(10);
    expect(pending.map((p) => p.eventId).sort()).toEqual([...refused].sort());
    for (const p of pending) expect(p).toMatchObject({ attempts: 1, lastError: expect.any(String) });
  });
});

/** A compose.finished as the compose tracker emits it: stored, and queued in the outbox. */
async function emit(store: SqliteStore, names: ContractNames, n: number): Promise<string> {
  const ref = `fedora/26/x86_64/updates/atomic-host`;
  const data = { composeId: `f26-atomic-host-x86_64-26.20240621.${n}`, stream: 'f26-atomic-host-x86_64', group: 'f26-atomic-host', arch: 'x86_64', ref, commit: 'c'.repeat(64), version: `26.20240621.${n}`, status: 'FINISHED', artifacts: [] };
  const envelope = await store.transaction(() =>
    storeEmitted(store, { topic: TOPIC, key: String(n), subject: ref, data }, { causeId: `cause-${names.suffix}-${n}`, correlationId: `cause-${names.suffix}-${n}`, emitter: 'compose-tracker', topicPrefix: names.prefix, now: new Date().toISOString() }),
  );
  return envelope!.id;
}

function sentIds(store: SqliteStore): string[] {
  return (store.db.prepare('SELECT event_id AS id FROM outbox WHERE sent_at IS NOT NULL').all() as Array<{ id: string }>).map((r) => r.id);
}
