/**
 * The AMQP codec on recorded messages, without a broker: every Fedora fixture as Fedora Messaging
 * puts it on the wire, CloudEvents in binary and structured mode, the ways a message can be bad,
 * relengd's own encoding read back unchanged, and the dead-letter copy.
 */
import type { MessageProperties } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { decode, deadLetterCopy, encode, ERROR_HEADER, fedoraSchemaName, fedoraSentAt, type WireMessage } from '../../../../src/bus/amqp/codec.ts';
import { MessageRejectedError, RejectReason } from '../../../../src/errors.ts';
import { makeEnvelope, type Envelope, type EnvelopeInput } from '../../../../src/events/envelope.ts';
import { deadLetterCopyId, idOfIdLessMessage } from '../../../../src/events/ids.ts';
import { fixturesMissingReason, fixturesPresent, loadFixtures } from '../../../helpers/fixtures.ts';
import { fedoraWire, fromFixture, pythonJsonDumps } from '../../../helpers/fedora-wire.ts';

const noProperties: MessageProperties = {
  contentType: undefined, contentEncoding: undefined, headers: undefined, deliveryMode: undefined, priority: undefined,
  correlationId: undefined, replyTo: undefined, expiration: undefined, messageId: undefined, timestamp: undefined,
  type: undefined, userId: undefined, appId: undefined, clusterId: undefined,
};

/** A message as amqplib hands it to a consumer. */
function wire(routingKey: string, content: Buffer | string, properties: Partial<MessageProperties> = {}): WireMessage {
  return {
    content: Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'),
    fields: { routingKey, exchange: 'amq.topic', deliveryTag: 1, redelivered: false, consumerTag: 'c1' },
    properties: { ...noProperties, ...properties },
  };
}

function input(msg: WireMessage): EnvelopeInput {
  const { decoded } = decode(msg);
  if (decoded instanceof MessageRejectedError) throw new Error(`expected a decoded message, got ${decoded.reason}: ${decoded.message}`);
  return decoded;
}

function rejection(msg: WireMessage): MessageRejectedError {
  const { decoded } = decode(msg);
  if (!(decoded instanceof MessageRejectedError)) throw new Error('expected a rejection');
  return decoded;
}

const topic = 'org.fedoraproject.prod.bodhi.compose.complete';
const body = { repo: 'f29-updates-testing', success: true, ctype: 'rpm', agent: 'releng' };

describe.skipIf(!fixturesPresent)(fixturesPresent ? 'decoding every Fedora fixture' : `decoding every Fedora fixture (skipped: ${fixturesMissingReason})`, () => {
  it.each(loadFixtures().map((f) => [f.file, f] as const))('%s decodes to its topic, id, body and sent-at', (_file, fixture) => {
    const m = fedoraWire(fromFixture(fixture));
    const got = input(wire(m.routingKey, m.content, m.options as Partial<MessageProperties>));
    expect(got.topic).toBe(fixture.topic);
    expect(got.id).toBe(fixture.id); // none: the envelope gives it the id of an id-less message
    expect(got.data).toStrictEqual(fixture.body);
    expect(got.time).toBe((m.options.headers as Record<string, string>)['sent-at']);
    expect(got.headers?.fedora_messaging_schema).toBeTypeOf('string');
    expect(got.headers?.fedora_messaging_severity).toMatch(/^\d+$/);
    expect(got.publisher).toBeUndefined();
  });
});

describe('decode: Fedora Messaging', () => {
  it('takes the id from message_id, the publisher from user_id and keeps scalar headers but not broker-added ones', () => {
    const got = input(
      wire(topic, JSON.stringify(body), {
        messageId: 'b1cb6938-bab8-4597-b278-dd45f5491ce8',
        userId: 'bodhi',
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers: {
          fedora_messaging_schema: 'bodhi.compose.complete.v1', fedora_messaging_severity: 20, fedora_messaging_user_releng: true,
          'sent-at': '2024-06-21T12:52:29+00:00', priority: 0, 'x-delivery-count': 2, 'x-received-from': [{ uri: 'amqps://x' }],
        },
      }),
    );
    expect(got).toMatchObject({ id: 'b1cb6938-bab8-4597-b278-dd45f5491ce8', publisher: 'bodhi', time: '2024-06-21T12:52:29+00:00' });
    expect(got.headers).toEqual({
      fedora_messaging_schema: 'bodhi.compose.complete.v1', fedora_messaging_severity: '20', fedora_messaging_user_releng: 'true',
      'sent-at': '2024-06-21T12:52:29+00:00', priority: '0',
    });
  });

  it('gives a message without message_id the id of its topic and body, however the body is spaced', () => {
    const idOf = (content: string) => makeEnvelope(input(wire(topic, content)), { receivedAt: '2030-01-01T00:00:00.000Z' }).id;
    expect(idOf(pythonJsonDumps(body))).toBe(idOfIdLessMessage(topic, body));
    expect(idOf(JSON.stringify(body))).toBe(idOf(pythonJsonDumps(body)));
    expect(idOf(JSON.stringify({ ...body, success: false }))).not.toBe(idOf(JSON.stringify(body)));
  });

  it('reads the AMQP timestamp when there is no sent-at', () => {
    expect(input(wire(topic, '{}', { timestamp: 1718974349 })).time).toBe('2024-06-21T12:52:29.000Z');
  });

  it('keeps the routing key and the properties in the delivery headers for the rejected table', () => {
    const d = decode(wire(topic, 'not json', { messageId: 'm1', userId: 'bodhi', headers: { 'sent-at': 'x', 'x-received-from': [{ uri: 'amqps://upstream' }] } }));
    expect(d.headers).toMatchObject({ 'amqp.routing-key': topic, 'amqp.exchange': 'amq.topic', 'amqp.message-id': 'm1', 'amqp.user-id': 'bodhi', 'sent-at': 'x', 'x-received-from': '[{"uri":"amqps://upstream"}]' });
    expect(d.transport).toBe('amqp');
    expect(Buffer.from(d.raw).toString()).toBe('not json');
  });
});

describe('decode: CloudEvents', () => {
  it.each(['cloudEvents_', 'cloudEvents:', 'ce-', 'ce_'])('reads binary-mode attributes from %s headers, ahead of message_id and sent-at', (prefix) => {
    const got = input(
      wire(topic, JSON.stringify(body), {
        messageId: 'amqp-id',
        headers: {
          [`${prefix}specversion`]: '1.0', [`${prefix}id`]: 'ce-id-1', [`${prefix}type`]: 'org.example.compose', [`${prefix}source`]: '/bodhi',
          [`${prefix}time`]: '2024-06-21T12:52:29.250Z', [`${prefix}subject`]: 'f29-updates', [`${prefix}correlationid`]: 'c-1',
          [`${prefix}causationid`]: 'k-1', 'sent-at': '2020-01-01T00:00:00+00:00', [`${prefix}partitionkey`]: 'f29',
        },
      }),
    );
    expect(got).toMatchObject({ topic, id: 'ce-id-1', type: 'org.example.compose', source: '/bodhi', time: '2024-06-21T12:52:29.250Z', subject: 'f29-updates', correlationid: 'c-1', causationid: 'k-1', data: body });
    // Attributes are envelope fields; extensions stay headers.
    expect(got.headers).toEqual({ 'sent-at': '2020-01-01T00:00:00+00:00', [`${prefix}partitionkey`]: 'f29' });
  });

  it('reads a structured-mode event, the topic still being the routing key', () => {
    const event = { specversion: '1.0', id: 'se-1', type: 'org.example.t', source: '/s', time: '2024-06-21T12:52:29Z', subject: 'subj', data: body };
    const got = input(wire(topic, JSON.stringify(event), { contentType: 'application/cloudevents+json; charset=utf-8' }));
    expect(got).toMatchObject({ topic, id: 'se-1', type: 'org.example.t', source: '/s', time: '2024-06-21T12:52:29Z', subject: 'subj', data: body });
  });

  it('reads data_base64 in structured mode', () => {
    const event = { specversion: '1.0', id: 'se-2', type: 't', source: '/s', data_base64: Buffer.from(JSON.stringify(body)).toString('base64') };
    expect(input(wire(topic, JSON.stringify(event), { contentType: 'application/cloudevents+json' })).data).toEqual(body);
  });
});

describe('decode: bad messages become rejections, never throws', () => {
  it.each([
    ['a body that is not JSON', wire(topic, '{"repo": '), RejectReason.notJson],
    ['a body that is not UTF-8', wire(topic, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), RejectReason.notJson],
    ['a content encoding other than utf-8', wire(topic, JSON.stringify(body), { contentEncoding: 'gzip' }), RejectReason.mediaType],
    ['a content type that is not JSON', wire(topic, 'hello', { contentType: 'text/plain' }), RejectReason.mediaType],
    ['an octet stream', wire(topic, JSON.stringify(body), { contentType: 'application/octet-stream' }), RejectReason.mediaType],
    ['a body nested 20,000 deep', wire(topic, '['.repeat(20_000) + ']'.repeat(20_000)), RejectReason.notJson],
    ['a body over the size limit', wire(topic, JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) })), RejectReason.tooLarge],
    ['a structured-mode body without specversion', wire(topic, JSON.stringify(body), { contentType: 'application/cloudevents+json' }), RejectReason.notCloudEvent],
    ['a structured-mode data_base64 that is not JSON', wire(topic, JSON.stringify({ specversion: '1.0', id: 'x', data_base64: 'bm90IGpzb24=' }), { contentType: 'application/cloudevents+json' }), RejectReason.notJson],
  ])('%s', (_what, msg, reason) => {
    expect(rejection(msg).reason).toBe(reason);
  });
});

describe('encode', () => {
  const envelope: Envelope = {
    id: '0190a1b2-c3d4-8e5f-a6b7-c8d9e0f1a2b3',
    topic: 'relengd.compose.finished',
    prefix: 'org.fedoraproject.prod',
    type: 'org.relengd.compose.finished',
    source: '/relengd/compose-tracker',
    time: '2024-06-21T12:52:29.123Z',
    subject: 'fedora/26/x86_64/updates/atomic-host',
    correlationid: 'bodhi-msg-1',
    causationid: 'relengd-msg-7',
    headers: {},
    data: {
      composeId: 'f26-atomic-host-x86_64-26.20240621.0', stream: 'f26-atomic-host-x86_64', group: 'f26-atomic-host', arch: 'x86_64',
      ref: 'fedora/26/x86_64/updates/atomic-host', commit: 'a'.repeat(64), version: '26.20240621.0', status: 'FINISHED', artifacts: [],
    },
    known: true,
  };
  const routingKey = 'org.fedoraproject.prod.relengd.compose.finished';

  it('writes what Fedora Messaging writes, plus the CloudEvents attributes as cloudEvents_* headers', () => {
    const { content, options } = encode(envelope);
    expect(JSON.parse(content.toString('utf8'))).toEqual(envelope.data);
    expect(options).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, messageId: envelope.id, timestamp: 1718974349 });
    expect(options.headers).toEqual({
      fedora_messaging_schema: 'relengd.compose.finished.v1',
      fedora_messaging_severity: 20,
      'sent-at': '2024-06-21T12:52:29+00:00',
      cloudEvents_specversion: '1.0',
      cloudEvents_id: envelope.id,
      cloudEvents_type: 'org.relengd.compose.finished',
      cloudEvents_source: '/relengd/compose-tracker',
      cloudEvents_time: '2024-06-21T12:52:29.123Z',
      cloudEvents_subject: 'fedora/26/x86_64/updates/atomic-host',
      cloudEvents_correlationid: 'bodhi-msg-1',
      cloudEvents_causationid: 'relengd-msg-7',
      cloudEvents_datacontenttype: 'application/json',
    });
  });

  it('reads back as the same envelope', () => {
    const { content, options } = encode(envelope);
    const back = makeEnvelope(input(wire(routingKey, content, options as Partial<MessageProperties>)), { prefix: 'org.fedoraproject.prod', receivedAt: '2030-01-01T00:00:00.000Z' });
    const { headers, ...rest } = back;
    const { headers: _none, ...expected } = envelope;
    expect(rest).toEqual(expected);
    expect(headers).toEqual({ fedora_messaging_schema: 'relengd.compose.finished.v1', fedora_messaging_severity: '20', 'sent-at': '2024-06-21T12:52:29+00:00' });
  });

  it('names the schema relengd.<name>.v1, and base.message for a foreign topic', () => {
    expect(fedoraSchemaName('relengd.ostree.compose.requested')).toBe('relengd.ostree.compose.requested.v1');
    expect(fedoraSchemaName('bodhi.compose.complete')).toBe('base.message');
    expect(fedoraSentAt('2019-07-30T19:12:22.999Z')).toBe('2019-07-30T19:12:22+00:00');
  });
});

describe('deadLetterCopy', () => {
  it('keeps body, properties and headers, moves user_id into x-relengd-error with the reason and the routing key', () => {
    const msg = wire(topic, '{"repo": ', { messageId: 'm-9', userId: 'mallory', contentType: 'application/json', headers: { 'sent-at': 's', 'x-delivery-count': 2 } });
    const copy = deadLetterCopy(msg, new MessageRejectedError(RejectReason.notJson, 'body is not JSON'), { exchange: 'relengd.dead', rejectedAt: '2024-06-21T12:00:00.000Z' });
    expect(copy).toMatchObject({ exchange: 'relengd.dead', routingKey: topic, content: msg.content });
    expect(copy.options.userId).toBeUndefined();
    expect(copy.options).toMatchObject({ messageId: 'm-9', contentType: 'application/json', deliveryMode: 2 });
    expect(copy.options.headers).toEqual({
      'sent-at': 's',
      [ERROR_HEADER]: { reason: 'not-json', detail: 'body is not JSON', exchange: 'amq.topic', 'routing-key': topic, 'user-id': 'mallory', 'delivery-count': 3, 'rejected-at': '2024-06-21T12:00:00.000Z' },
    });
  });

  it('gives a copy of a message without message_id an id named by its bytes, the same for a redelivery', () => {
    const copy = (content: string) => deadLetterCopy(wire(topic, content), new MessageRejectedError(RejectReason.notJson, 'no'), { exchange: 'd', rejectedAt: 't' });
    expect(copy('x').options.messageId).toBe(deadLetterCopyId(topic, Buffer.from('x')));
    expect(copy('x').options.messageId).toBe(copy('x').options.messageId);
    expect(copy('y').options.messageId).not.toBe(copy('x').options.messageId);
  });
});

describe('decode: a byte-order mark', () => {
  it('is dropped before parsing and before storing: the stored bytes are the bytes parsed', () => {
    const json = JSON.stringify(body);
    const delivery = decode(wire(topic, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)])));
    expect(delivery.decoded).not.toBeInstanceOf(MessageRejectedError);
    expect((delivery.decoded as EnvelopeInput).data).toStrictEqual(body);
    expect(delivery.rawIsData).toBe(true);
    expect(Buffer.from(delivery.raw).toString('utf8')).toBe(json);
  });
});
