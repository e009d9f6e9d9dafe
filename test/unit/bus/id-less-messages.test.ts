/**
 * A message that arrives without an id gets one id, whichever way it came: live over AMQP (as
 * Fedora Messaging or a CloudEvent), over the HTTP ingest, sent by `relengd publish` (AMQP or
 * HTTP), or read back from datagrepper, a `fedora-messaging record` file or a `relengd export`.
 * Otherwise a catch-up after an outage would store again, and act again on, what already came live.
 */
import type { MessageProperties } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { decode } from '../../../src/bus/amqp/codec.ts';
import { fedoraWireOf } from '../../../src/bus/amqp/send.ts';
import { decodeArchive, toArchiveLine } from '../../../src/bus/archive/codec.ts';
import { httpRequestOf } from '../../../src/bus/embedded/client.ts';
import { decodeHttpEvent } from '../../../src/bus/embedded/codec.ts';
import { MessageRejectedError } from '../../../src/errors.ts';
import { makeEnvelope, type Envelope } from '../../../src/events/envelope.ts';
import { idOfIdLessMessage } from '../../../src/events/ids.ts';
import type { Delivery } from '../../../src/pipeline/intake.ts';
import { pythonJsonDumps } from '../../helpers/fedora-wire.ts';

const PREFIX = 'org.fedoraproject.prod';
const topic = `${PREFIX}.bodhi.compose.complete`;
/** As Bodhi sent it. */
const body = { agent: 'bodhi', ctype: 'rpm', repo: 'f26-updates', success: true, updates: [{ alias: 'FEDORA-2017-1', builds: ['ostree-2017.7-1.fc26'] }] };
/** The same body with its keys in another order, as another serializer writes it. */
const reordered = { updates: [{ builds: ['ostree-2017.7-1.fc26'], alias: 'FEDORA-2017-1' }], success: true, repo: 'f26-updates', ctype: 'rpm', agent: 'bodhi' };

const noProperties: MessageProperties = {
  contentType: undefined, contentEncoding: undefined, headers: undefined, deliveryMode: undefined, priority: undefined,
  correlationId: undefined, replyTo: undefined, expiration: undefined, messageId: undefined, timestamp: undefined,
  type: undefined, userId: undefined, appId: undefined, clusterId: undefined,
};

function amqp(content: Buffer | string, properties: Partial<MessageProperties> = {}): Delivery {
  return decode({
    content: Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'),
    fields: { routingKey: topic, exchange: 'amq.topic', deliveryTag: 1, redelivered: false, consumerTag: 'c1' },
    properties: { ...noProperties, ...properties },
  });
}

/** The envelope intake would store for a delivery. */
function envelopeOf(delivery: Delivery): Envelope {
  if (delivery.decoded instanceof MessageRejectedError) throw new Error(`rejected: ${delivery.decoded.message}`);
  return makeEnvelope(delivery.decoded, { prefix: PREFIX, receivedAt: '2026-11-26T12:00:00.000Z' });
}

function archived(text: string): Envelope[] {
  const { deliveries, problems } = decodeArchive(text);
  expect(problems).toEqual([]);
  return deliveries.map(envelopeOf);
}

describe('an id-less message has one id on every path', () => {
  const expected = idOfIdLessMessage(topic, body);

  it.each<[string, () => string]>([
    ['AMQP, as Fedora Messaging publishes it (Python json.dumps)', () => envelopeOf(amqp(pythonJsonDumps(body), { contentType: 'application/json' })).id],
    ['AMQP, compact JSON with the keys in another order', () => envelopeOf(amqp(JSON.stringify(reordered))).id],
    ['AMQP, with a byte-order mark', () => envelopeOf(amqp(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(body))]))).id],
    ['AMQP, a structured-mode CloudEvent without id', () => envelopeOf(amqp(JSON.stringify({ specversion: '1.0', type: topic, source: '/bodhi', data: reordered }), { contentType: 'application/cloudevents+json' })).id],
    ['relengd publish over AMQP (message_id it sends)', () => fedoraWireOf({ topic, body: reordered }, '2026-11-26T12:00:00Z').options.messageId],
    ['relengd publish over AMQP, as the consumer reads it', () => {
      const { content, options } = fedoraWireOf({ topic, body }, '2026-11-26T12:00:00Z');
      return envelopeOf(amqp(content, options as Partial<MessageProperties>)).id;
    }],
    ['HTTP ingest, a structured-mode CloudEvent without id', () =>
      envelopeOf(decodeHttpEvent({ 'content-type': 'application/cloudevents+json' }, Buffer.from(JSON.stringify({ specversion: '1.0', type: topic, source: '/bodhi', topic, data: reordered })))).id],
    ['relengd publish over HTTP, as the ingest reads it', () => {
      const { headers, body: requestBody } = httpRequestOf({ topic, body: reordered });
      return envelopeOf(decodeHttpEvent(headers, Buffer.from(requestBody))).id;
    }],
    ['a fedora-messaging record / JSON lines file', () => archived(`${JSON.stringify({ topic, headers: { 'sent-at': '2017-07-05T10:00:00+00:00' }, body: reordered })}\n`)[0]!.id],
    ['a datagrepper /v2/search page', () => archived(JSON.stringify({ raw_messages: [{ topic, headers: {}, body }], pages: 1, total: 1 }))[0]!.id],
    ['a fedmsg-era datagrepper /raw entry without msg_id', () => archived(JSON.stringify([{ topic, msg: reordered, timestamp: 1499248800 }]))[0]!.id],
  ])('%s', (_path, idOnThatPath) => {
    expect(idOnThatPath()).toBe(expected);
  });

  it('a relengd export of the stored message reads back under the id it was stored with', () => {
    const stored = envelopeOf(amqp(pythonJsonDumps(body)));
    const [back] = archived(toArchiveLine(stored, PREFIX));
    expect(back!.id).toBe(stored.id);
    expect(back!.id).toBe(expected);
  });

  it('a message that carries an id keeps it on every path', () => {
    expect(envelopeOf(amqp(JSON.stringify(body), { messageId: 'bodhi-1' })).id).toBe('bodhi-1');
    const { headers, body: requestBody } = httpRequestOf({ topic, body, id: 'bodhi-1' });
    expect(envelopeOf(decodeHttpEvent(headers, Buffer.from(requestBody))).id).toBe('bodhi-1');
    expect(archived(JSON.stringify({ topic, id: 'bodhi-1', body }))[0]!.id).toBe('bodhi-1');
  });

  it('another body or another topic is another message', () => {
    expect(envelopeOf(amqp(JSON.stringify({ ...body, success: false }))).id).not.toBe(expected);
    expect(archived(JSON.stringify({ topic: `${PREFIX}.bodhi.mashtask.complete`, body }))[0]!.id).not.toBe(expected);
  });
});
