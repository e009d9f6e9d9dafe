/**
 * Property: whatever arrives, mixed into a batch with valid messages, the intake never throws, every
 * valid message is stored exactly once and every invalid one is rejected with a reason. Through the
 * real codecs (AMQP and HTTP) and a real store. `INTAKE_PROPERTY_RUNS` sets the number of cases.
 */
import type { MessageProperties } from 'amqplib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decode } from '../../../src/bus/amqp/codec.ts';
import { fixedClock } from '../../../src/clock.ts';
import { decodeHttpEvent } from '../../../src/bus/embedded/codec.ts';
import { silentLogger } from '../../../src/log.ts';
import { Intake, type Delivery } from '../../../src/pipeline/intake.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfig } from '../../helpers/config.ts';

const RUNS = Number(process.env.INTAKE_PROPERTY_RUNS ?? 10_000);
const PREFIX = 'org.fedoraproject.prod';
const store = Store.open(':memory:');
afterAll(() => store.close());
const intake = new Intake({ store: new SqliteStore(store), config: testConfig('/srv/relengd', 'publishers:\n  relengd.release.approve: [releng]\n'), clock: fixedClock('2026-11-26T12:00:00Z'), logger: silentLogger() });

const noProperties: MessageProperties = {
  contentType: undefined, contentEncoding: undefined, headers: undefined, deliveryMode: undefined, priority: undefined,
  correlationId: undefined, replyTo: undefined, expiration: undefined, messageId: undefined, timestamp: undefined,
  type: undefined, userId: undefined, appId: undefined, clusterId: undefined,
};

let serial = 0;
/** A valid Bodhi message with a fresh id, on one of the two transports. */
function valid(over: 'amqp' | 'http'): { delivery: Delivery; id: string } {
  const id = `valid-${++serial}`;
  const body = Buffer.from(JSON.stringify({ repo: 'f26-updates', success: true, agent: 'bodhi', ctype: 'rpm', n: serial }));
  if (over === 'amqp') {
    return { id, delivery: decode({ content: body, fields: { routingKey: `${PREFIX}.bodhi.compose.complete`, exchange: 'amq.topic', deliveryTag: 1, redelivered: false, consumerTag: 'c' }, properties: { ...noProperties, messageId: id, contentType: 'application/json' } }) };
  }
  const headers = { 'ce-specversion': '1.0', 'ce-id': id, 'ce-type': `${PREFIX}.bodhi.compose.complete`, 'ce-source': '/bodhi', 'content-type': 'application/json' };
  return { id, delivery: decodeHttpEvent(headers, body) };
}

const nested = fc.integer({ min: 1, max: 3000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string().map((s) => Buffer.from(s)),
  fc.json().map((s) => Buffer.from(s)),
  nested.map((s) => Buffer.from(s)),
  fc.json().map((s) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)])),
);
const contentType = fc.option(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/cloudevents+json', 'application/json; charset=utf-8', ''), { nil: undefined });
const topic = fc.oneof(
  fc.constantFrom('bodhi.compose.complete', 'relengd.compose.finished', 'relengd.release.approve', 'relengd.release.promote.requested', 'greenwave.decision.update', 'buildsys.tag').map((t) => `${PREFIX}.${t}`),
  fc.string({ maxLength: 40 }),
);
const id = fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })), { nil: undefined });

/** Something arbitrary, over AMQP or HTTP. */
const arbitrary = fc.oneof(
  fc.record({ routingKey: topic, content: bytes, contentType, contentEncoding: fc.option(fc.constantFrom('utf-8', 'gzip', ''), { nil: undefined }), messageId: id, userId: fc.option(fc.constantFrom('releng', 'guest'), { nil: undefined }) }).map(
    (m): Delivery => decode({ content: Buffer.from(m.content), fields: { routingKey: m.routingKey, exchange: 'amq.topic', deliveryTag: 1, redelivered: false, consumerTag: 'c' }, properties: { ...noProperties, contentType: m.contentType, contentEncoding: m.contentEncoding, messageId: m.messageId, userId: m.userId } }),
  ),
  fc.record({ type: topic, body: bytes, contentType, id, binary: fc.boolean(), extra: fc.dictionary(fc.constantFrom('ce-subject', 'ce-time', 'ce-topic', 'ce-publisher', 'authorization'), fc.string({ maxLength: 30 })) }).map((r): Delivery => {
    const headers: Record<string, string> = { ...r.extra };
    if (r.binary) Object.assign(headers, { 'ce-specversion': '1.0', 'ce-type': r.type, 'ce-source': '/x' }, r.id === undefined ? {} : { 'ce-id': r.id });
    if (r.contentType !== undefined) headers['content-type'] = r.contentType;
    return decodeHttpEvent(headers, Buffer.from(r.body));
  }),
);

describe('intake of arbitrary input mixed with valid messages', () => {
  it(`stores every valid message once and rejects or drops the rest with a reason (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbitrary, { maxLength: 6 }), fc.array(fc.constantFrom<'amqp' | 'http'>('amqp', 'http'), { minLength: 1, maxLength: 4 }), async (junk, transports) => {
        const goods = transports.map(valid);
        const batch = [...junk, ...goods.map((g) => g.delivery)];
        const outcomes = await intake.accept(batch);
        expect(outcomes).toHaveLength(batch.length);
        for (const outcome of outcomes) {
          expect(outcome.kind).not.toBe('retry-later');
          if (outcome.kind === 'rejected') expect(outcome.error.reason).toMatch(/\S/);
          if (outcome.kind === 'dropped') expect(outcome.why).toMatch(/\S/);
        }
        outcomes.slice(junk.length).forEach((o, k) => expect(o).toEqual({ kind: 'committed', id: goods[k]!.id }));
        for (const g of goods) expect(store.events.get(g.id)?.envelope.data).toMatchObject({ repo: 'f26-updates' });
        // Nothing that was stored is unreadable, and a stored own or command topic came from an allowed sender.
        for (const outcome of outcomes.slice(0, junk.length)) {
          if (outcome.kind !== 'committed') continue;
          const event = store.events.get(outcome.id)!;
          expect(event.unreadable).toBeUndefined();
          expect(event.envelope.topic.startsWith('relengd.') && event.envelope.publisher !== 'releng').toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
