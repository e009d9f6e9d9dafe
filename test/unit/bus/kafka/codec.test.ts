/**
 * The Kafka codec without a cluster: CloudEvents in binary and structured mode, Fedora Messaging
 * bodies bridged into Kafka, the ways a record can be bad, relengd's own encoding read back
 * unchanged, and the dead-letter copy.
 */
import type { IHeaders } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deadLetterCopy, decode, encode, ERROR_HEADER, type WireRecord } from '../../../../src/bus/kafka/codec.ts';
import { MessageRejectedError, RejectReason } from '../../../../src/errors.ts';
import { makeEnvelope, type EnvelopeInput } from '../../../../src/events/envelope.ts';

const topic = 'org.fedoraproject.prod.bodhi.compose.complete';
const body = { repo: 'f29-updates-testing', success: true, ctype: 'rpm', agent: 'releng' };

function record(value: Buffer | string | null, headers: IHeaders = {}, options: { topic?: string; key?: string; offset?: string; timestamp?: string } = {}): WireRecord {
  return {
    topic: options.topic ?? topic,
    partition: 2,
    message: {
      key: options.key === undefined ? null : Buffer.from(options.key),
      value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'),
      headers,
      offset: options.offset ?? '41',
      timestamp: options.timestamp ?? String(Date.parse('2026-02-03T04:05:06Z')),
    },
  };
}

function input(r: WireRecord): EnvelopeInput {
  const { decoded } = decode(r);
  if (decoded instanceof MessageRejectedError) throw new Error(`expected a decoded record, got ${decoded.reason}: ${decoded.message}`);
  return decoded;
}

function rejection(r: WireRecord): MessageRejectedError {
  const { decoded } = decode(r);
  if (!(decoded instanceof MessageRejectedError)) throw new Error('expected a rejection');
  return decoded;
}

describe('decode: Fedora Messaging bridged into Kafka', () => {
  it('takes the topic from the Kafka topic, the id from message_id, the time from sent-at, and keeps the value as the data', () => {
    const value = Buffer.from(JSON.stringify(body));
    const delivery = decode(record(value, { message_id: 'abc', 'sent-at': '2019-06-07T16:49:58+00:00', fedora_messaging_schema: 'bodhi.compose.complete.v1', fedora_messaging_severity: Buffer.from('20'), 'x-received-from': 'elsewhere' }));
    expect(delivery).toMatchObject({ transport: 'kafka', rawIsData: true, source: 'live' });
    expect(Buffer.from(delivery.raw).equals(value)).toBe(true);
    expect(delivery.decoded).toEqual({
      topic,
      data: body,
      id: 'abc',
      type: undefined, source: undefined, subject: undefined, correlationid: undefined, causationid: undefined,
      time: '2019-06-07T16:49:58+00:00',
      headers: { message_id: 'abc', 'sent-at': '2019-06-07T16:49:58+00:00', fedora_messaging_schema: 'bodhi.compose.complete.v1', fedora_messaging_severity: '20' },
    });
    // The rejected table gets every header and where the record was.
    expect(delivery.headers).toMatchObject({ 'x-received-from': 'elsewhere', 'kafka.topic': topic, 'kafka.partition': '2', 'kafka.offset': '41', 'kafka.timestamp': '2026-02-03T04:05:06.000Z' });
  });

  it('takes the topic from a topic header (a bridge putting the whole bus on one Kafka topic), and the record time when there is no sent-at', () => {
    const got = input(record(JSON.stringify(body), { topic: 'org.fedoraproject.prod.buildsys.tag' }, { topic: 'fedora-bus' }));
    expect(got.topic).toBe('org.fedoraproject.prod.buildsys.tag');
    expect(got.time).toBe('2026-02-03T04:05:06.000Z');
    expect(got.id).toBeUndefined();
    expect(got.headers).toEqual({});
  });

  it('never takes a publisher from a record, whatever its headers claim', () => {
    const got = input(record(JSON.stringify(body), { user_id: 'greenwave', ce_publisher: 'greenwave', publisher: 'greenwave' }));
    expect(got.publisher).toBeUndefined();
  });

  it('drops a UTF-8 byte-order mark before parsing and storing', () => {
    const value = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(body))]);
    const delivery = decode(record(value));
    expect(Buffer.from(delivery.raw).toString()).toBe(JSON.stringify(body));
  });
});

describe('decode: CloudEvents', () => {
  it('binary mode: attributes from ce_* headers (ce-* too), the value as the data', () => {
    const got = input(record(JSON.stringify(body), {
      ce_specversion: '1.0', ce_id: 'e-1', ce_type: 'org.fedoraproject.prod.bodhi.compose.complete', ce_source: '/bodhi', ce_time: '2026-01-02T03:04:05Z',
      'ce-subject': 'f29-updates-testing', ce_correlationid: 'c-1', ce_causationid: 'c-0', ce_extra: 'kept', 'content-type': 'application/json',
    }));
    expect(got).toEqual({
      topic, data: body, id: 'e-1', type: 'org.fedoraproject.prod.bodhi.compose.complete', source: '/bodhi', time: '2026-01-02T03:04:05Z',
      subject: 'f29-updates-testing', correlationid: 'c-1', causationid: 'c-0', headers: { ce_extra: 'kept' },
    });
  });

  it('binary mode: the topic extension names the topic', () => {
    expect(input(record(JSON.stringify(body), { ce_specversion: '1.0', ce_id: 'e-2', ce_topic: 'org.fedoraproject.prod.buildsys.tag' }, { topic: 'shared' })).topic).toBe('org.fedoraproject.prod.buildsys.tag');
  });

  it('structured mode: the event as the value, data or data_base64', () => {
    const event = { specversion: '1.0', id: 'e-3', type: 'bodhi.compose.complete', source: '/bodhi', time: '2026-01-02T03:04:06Z', subject: 's', datacontenttype: 'application/json', data: body };
    const delivery = decode(record(JSON.stringify(event), { 'content-type': 'application/cloudevents+json; charset=utf-8' }));
    expect(delivery.rawIsData).toBeUndefined();
    expect(delivery.decoded).toMatchObject({ topic, id: 'e-3', data: body, subject: 's', time: '2026-01-02T03:04:06Z' });
    const { data: _data, ...rest } = event;
    const base64 = input(record(JSON.stringify({ ...rest, data_base64: Buffer.from(JSON.stringify(body)).toString('base64') }), { 'content-type': 'application/cloudevents+json' }));
    expect(base64.data).toEqual(body);
  });
});

describe('decode: bad records are rejected with their reason', () => {
  it.each([
    ['a tombstone (no value)', record(null), RejectReason.notJson, undefined],
    ['not JSON', record('{"repo": '), RejectReason.notJson, undefined],
    ['not UTF-8', record(Buffer.from([0x7b, 0xff, 0x7d])), RejectReason.notJson, undefined],
    ['a content type that is not JSON', record('<x/>', { 'content-type': 'application/xml' }), RejectReason.mediaType, 'content-type'],
    ['a datacontenttype that is not JSON', record('"x"', { ce_specversion: '1.0', ce_datacontenttype: 'text/plain' }), RejectReason.mediaType, 'datacontenttype'],
    ['structured without specversion', record(JSON.stringify({ id: 'x' }), { 'content-type': 'application/cloudevents+json' }), RejectReason.notCloudEvent, 'specversion'],
    ['structured with data_base64 that is not JSON', record(JSON.stringify({ specversion: '1.0', data_base64: Buffer.from('nope').toString('base64') }), { 'content-type': 'application/cloudevents+json' }), RejectReason.notJson, 'data_base64'],
    ['nested 1000 deep', record('['.repeat(1000) + ']'.repeat(1000)), RejectReason.notJson, undefined],
  ] as const)('%s', (_what, r, reason, field) => {
    const error = rejection(r);
    expect(error.reason).toBe(reason);
    expect(error.field).toBe(field);
  });

  it('a value over the size limit', () => {
    expect(decode(record(JSON.stringify({ pad: 'x'.repeat(2000) })), 1000).decoded).toMatchObject({ reason: RejectReason.tooLarge });
  });

  it('names the topic and id the headers give, for the rejected table, as a readable record would have them', () => {
    expect(decode(record('{"repo": ', { message_id: 'fm-1' })).wire).toEqual({ topic, id: 'fm-1' });
    expect(decode(record('{"repo": ', { ce_id: 'ce-1', message_id: 'fm-1', ce_topic: 'org.fedoraproject.prod.buildsys.tag' })).wire).toEqual({ topic: 'org.fedoraproject.prod.buildsys.tag', id: 'ce-1' });
    expect(decode(record(null, { topic: 'org.fedoraproject.prod.buildsys.tag' }, { topic: 'fedora-bus' })).wire).toEqual({ topic: 'org.fedoraproject.prod.buildsys.tag', id: undefined });
  });
});

describe('encode', () => {
  const envelope = makeEnvelope(
    { topic: 'org.fedoraproject.prod.kafkatest.finished', id: 'not-derived-1', subject: 'fedora/26/x86_64/updates/atomic-host', correlationid: 'push-1', causationid: 'cause-1', time: '2026-03-01T10:00:00Z', data: { anything: 'goes', n: 1 } },
    { prefix: 'org.fedoraproject.prod', receivedAt: '2026-03-01T10:00:00Z' },
  );

  it('writes a binary-mode CloudEvent keyed by subject, which decodes back to the same envelope', () => {
    const out = encode({ ...envelope, data: { anything: 'goes', n: 1 } }, 'org.fedoraproject.prod.kafkatest.finished');
    expect(out.topic).toBe('org.fedoraproject.prod.kafkatest.finished');
    expect(out.message.key).toBe('fedora/26/x86_64/updates/atomic-host');
    expect(out.message.timestamp).toBe(String(Date.parse('2026-03-01T10:00:00Z')));
    expect(out.message.headers).toEqual({
      ce_specversion: '1.0', ce_id: envelope.id, ce_type: envelope.type, ce_source: envelope.source, ce_time: envelope.time,
      ce_subject: envelope.subject, ce_partitionkey: envelope.subject, ce_correlationid: 'push-1', ce_causationid: 'cause-1',
      ce_topic: 'org.fedoraproject.prod.kafkatest.finished', 'content-type': 'application/json',
    });
    const back = input(record(out.message.value as Buffer, out.message.headers, { topic: 'whatever', key: String(out.message.key), timestamp: out.message.timestamp }));
    const again = makeEnvelope(back, { prefix: 'org.fedoraproject.prod', receivedAt: '2030-01-01T00:00:00Z' });
    expect({ ...again, known: envelope.known }).toEqual({ ...envelope, data: { anything: 'goes', n: 1 } });
  });

  it('an event without a subject has no key', () => {
    const out = encode({ ...envelope, subject: undefined }, 't');
    expect(out.message.key).toBeNull();
    expect(out.message.headers).not.toHaveProperty('ce_subject');
    expect(out.message.headers).not.toHaveProperty('ce_partitionkey');
  });
});

describe('deadLetterCopy', () => {
  it('is the original record plus x-relengd-error (replacing one it already had)', () => {
    const r = record('<x/>', { 'content-type': 'application/xml', [ERROR_HEADER]: 'old' }, { key: 'k', offset: '7' });
    const error = new MessageRejectedError(RejectReason.mediaType, 'content type application/xml is not JSON', 'content-type');
    const copy = deadLetterCopy(r, error, { topic: 'relengd.dead', rejectedAt: '2026-03-01T10:00:00.000Z', deliveryCount: 1 });
    expect(copy.topic).toBe('relengd.dead');
    expect(copy.message.key?.toString()).toBe('k');
    expect(copy.message.value?.toString()).toBe('<x/>');
    expect(copy.message.timestamp).toBe(r.message.timestamp);
    expect(copy.message.headers?.['content-type']).toBe('application/xml');
    expect(JSON.parse(String(copy.message.headers?.[ERROR_HEADER]))).toEqual({
      reason: 'media-type', detail: 'content type application/xml is not JSON', field: 'content-type', topic, partition: 2, offset: '7', 'delivery-count': 1, 'rejected-at': '2026-03-01T10:00:00.000Z',
    });
  });
});
