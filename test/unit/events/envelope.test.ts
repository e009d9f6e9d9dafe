/**
 * How an inbound message becomes an Envelope (prefix, id, time, validation) and how an Envelope
 * travels as a CloudEvent and comes back unchanged.
 */
import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { MessageRejectedError, RejectReason } from '../../../src/errors.ts';
import type { Envelope, EnvelopeInput } from '../../../src/events/envelope.ts';
import { inputFromCloudEvent, makeEnvelope, routingKeyOf, TOPIC_EXTENSION, toCloudEvent } from '../../../src/events/envelope.ts';

const receivedAt = '2024-06-21T12:53:00.000Z';

/** A real bodhi.compose.complete body (2019 capture). */
const composeComplete = { repo: 'f29-updates-testing', success: true, ctype: 'rpm', agent: 'releng' };

const commit = 'a'.repeat(64);

/** A valid relengd.compose.finished body. */
const composeFinished = {
  composeId: 'fedora-silverblue-41-x86_64-20240621.0',
  stream: 'silverblue-41',
  group: 'silverblue',
  arch: 'x86_64',
  ref: 'fedora/41/x86_64/silverblue',
  commit,
  version: '41.20240621.0',
  status: 'FINISHED',
  artifacts: [
    {
      name: 'installer',
      kind: 'installer',
      platform: 'metal',
      format: 'iso',
      path: '/srv/artifacts/silverblue-41.iso',
      sha256: 'b'.repeat(64),
      size: 2_500_000_000,
    },
  ],
};

function rejectionOf(input: EnvelopeInput, prefix?: string): MessageRejectedError {
  try {
    makeEnvelope(input, { prefix, receivedAt });
  } catch (error) {
    if (error instanceof MessageRejectedError) return error;
    throw error;
  }
  throw new Error('expected the message to be rejected, but it became an envelope');
}

describe('makeEnvelope', () => {
  describe('topic and prefix', () => {
    it.each([
      ['org.fedoraproject.prod.bodhi.compose.complete', undefined, 'bodhi.compose.complete', 'org.fedoraproject.prod'],
      ['org.centos.stage.bodhi.compose.complete', undefined, 'bodhi.compose.complete', 'org.centos.stage'],
      ['com.example.releng.relengd.compose.finished', 'com.example.releng', 'relengd.compose.finished', 'com.example.releng'],
      ['relengd.compose.finished', 'com.example.releng', 'relengd.compose.finished', ''],
    ])('files %s (configured prefix %s) under %s with prefix %j', (topic, prefix, name, foundPrefix) => {
      const data = name === 'relengd.compose.finished' ? composeFinished : composeComplete;
      const envelope = makeEnvelope({ topic, data, id: 'm1' }, { prefix, receivedAt });
      expect(envelope.topic).toBe(name);
      expect(envelope.prefix).toBe(foundPrefix);
      expect(envelope.known).toBe(true);
      expect(routingKeyOf(envelope, '')).toBe(topic);
    });

    it('rejects a message without a topic', () => {
      const error = rejectionOf({ topic: '', data: composeComplete });
      expect(error.reason).toBe(RejectReason.unknownTopic);
      expect(error.field).toBe('topic');
    });
  });

  describe('id and correlation', () => {
    it('keeps the id the producer gave', () => {
      const envelope = makeEnvelope({ topic: 'org.fedoraproject.prod.bodhi.compose.complete', data: composeComplete, id: '2019-e43eb49a-b0da-4fb9-88e9-ef3f5eebc97d' }, { receivedAt });
      expect(envelope.id).toBe('2019-e43eb49a-b0da-4fb9-88e9-ef3f5eebc97d');
    });

    it('defaults the correlation id to the message id', () => {
      const envelope = makeEnvelope({ topic: 'bodhi.compose.complete', data: composeComplete, id: 'm1' }, { receivedAt });
      expect(envelope.correlationid).toBe('m1');
      expect(envelope.causationid).toBeUndefined();
    });

    it('keeps a given correlation and causation id', () => {
      const envelope = makeEnvelope(
        { topic: 'relengd.compose.finished', data: composeFinished, id: 'm2', correlationid: 'm0', causationid: 'm1' },
        { receivedAt },
      );
      expect(envelope).toMatchObject({ id: 'm2', correlationid: 'm0', causationid: 'm1' });
    });

    it('derives the same id for the same id-less message received twice', () => {
      const topic = 'org.fedoraproject.prod.bodhi.compose.complete';
      const first = makeEnvelope({ topic, data: structuredClone(composeComplete) }, { receivedAt });
      const again = makeEnvelope({ topic, data: structuredClone(composeComplete) }, { receivedAt: '2024-06-22T00:00:00.000Z' });
      expect(first.id).toBe(again.id);
      expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(first.correlationid).toBe(first.id);
    });

    it('treats an empty id as no id', () => {
      const topic = 'bodhi.compose.complete';
      expect(makeEnvelope({ topic, data: composeComplete, id: '' }, { receivedAt }).id).toBe(makeEnvelope({ topic, data: composeComplete }, { receivedAt }).id);
    });

    it.each([
      ['body', { topic: 'bodhi.compose.complete', data: { ...composeComplete, success: false } }],
      ['topic', { topic: 'bodhi.mashtask.complete', data: composeComplete }],
      ['prefix', { topic: 'org.fedoraproject.stg.bodhi.compose.complete', data: composeComplete }],
    ])('derives a different id for an id-less message with a different %s', (_what, input) => {
      const base = makeEnvelope({ topic: 'bodhi.compose.complete', data: composeComplete }, { receivedAt });
      expect(makeEnvelope(input, { receivedAt }).id).not.toBe(base.id);
    });
  });

  describe('time', () => {
    it.each([
      ["Fedora's sent-at header", '2019-06-07T16:49:58+00:00', '2019-06-07T16:49:58.000Z'],
      ['an offset other than UTC', '2019-06-07T18:49:58+02:00', '2019-06-07T16:49:58.000Z'],
      ['ISO UTC with milliseconds', '2024-06-21T12:52:29.123Z', '2024-06-21T12:52:29.123Z'],
    ])("uses the producer's time given as %s, in ISO UTC", (_what, time, expected) => {
      const envelope = makeEnvelope({ topic: 'bodhi.compose.complete', data: composeComplete, time }, { receivedAt });
      expect(envelope.time).toBe(expected);
    });

    it.each([
      ['no time', undefined],
      ['an empty time', ''],
      ['an unparseable time', 'yesterday-ish'],
    ])('falls back to the receive time for %s', (_what, time) => {
      const envelope = makeEnvelope({ topic: 'bodhi.compose.complete', data: composeComplete, time }, { receivedAt });
      expect(envelope.time).toBe(receivedAt);
    });
  });

  describe('body', () => {
    it('keeps fields Fedora adds beyond the schema', () => {
      const data = { ...composeComplete, new_field: { nested: [1, 2] } };
      const envelope = makeEnvelope({ topic: 'org.fedoraproject.prod.bodhi.compose.complete', data }, { receivedAt });
      expect(envelope.data).toEqual(data);
      expect(envelope.known).toBe(true);
    });

    it('marks an unknown topic known: false and keeps its data as received', () => {
      const data = { compose_id: 'Fedora-Rawhide-20240621.n.0', anything: ['goes', 42] };
      const envelope = makeEnvelope({ topic: 'org.fedoraproject.prod.autocloud.compose.complete', data }, { receivedAt });
      expect(envelope).toMatchObject({ topic: 'autocloud.compose.complete', prefix: 'org.fedoraproject.prod', known: false });
      expect(envelope.data).toEqual({ compose_id: 'Fedora-Rawhide-20240621.n.0', anything: ['goes', 42] });
    });

    it.each([
      ['a wrongly typed field', { repo: 'f29-updates-testing', success: 'yes' }, 'success'],
      ['a missing field', { success: true }, 'repo'],
    ])('rejects a body with %s, naming the field', (_what, data, field) => {
      const error = rejectionOf({ topic: 'org.fedoraproject.prod.bodhi.compose.complete', data, id: 'm1' });
      expect(error.reason).toBe(RejectReason.schema);
      expect(error.field).toBe(field);
      expect(error.message).toContain('bodhi.compose.complete');
      expect(error.message).toContain(field);
      expect(error.retriable).toBe(false);
    });

    it('names a nested field by its path', () => {
      const data = { ...composeFinished, artifacts: [{ ...composeFinished.artifacts[0], size: -1 }] };
      const error = rejectionOf({ topic: 'relengd.compose.finished', data });
      expect(error.reason).toBe(RejectReason.schema);
      expect(error.field).toBe('artifacts[0].size');
    });

    it('rejects a body that is not an object', () => {
      const error = rejectionOf({ topic: 'bodhi.compose.complete', data: 'f29-updates-testing' });
      expect(error.reason).toBe(RejectReason.schema);
    });
  });

  describe('type and source defaults', () => {
    it('types a relengd event as org.relengd.<name>', () => {
      const envelope = makeEnvelope({ topic: 'org.fedoraproject.prod.relengd.compose.finished', data: composeFinished }, { receivedAt });
      expect(envelope.type).toBe('org.relengd.compose.finished');
    });

    it('types a Fedora message by its full topic and sources it from its prefix and app', () => {
      const envelope = makeEnvelope({ topic: 'org.fedoraproject.prod.bodhi.compose.complete', data: composeComplete }, { receivedAt });
      expect(envelope.type).toBe('org.fedoraproject.prod.bodhi.compose.complete');
      expect(envelope.source).toBe('/org.fedoraproject.prod/bodhi');
    });
  });
});

describe('CloudEvent round trip', () => {
  const prefix = 'org.fedoraproject.prod';

  function relengdEnvelope(): Envelope {
    return makeEnvelope(
      {
        topic: 'relengd.compose.finished',
        data: composeFinished,
        id: 'b5a0c2de-7c51-8e0a-9d7b-2f1e0c3a4b5c',
        time: '2024-06-21T12:52:29+00:00',
        subject: 'silverblue/41.20240621.0',
        correlationid: '2019-e43eb49a-b0da-4fb9-88e9-ef3f5eebc97d',
        causationid: 'c0ffee00-0000-8000-8000-000000000001',
      },
      { prefix, receivedAt },
    );
  }

  it('carries the full routing key in the topic extension', () => {
    const event = toCloudEvent(relengdEnvelope(), prefix);
    expect(event[TOPIC_EXTENSION]).toBe('org.fedoraproject.prod.relengd.compose.finished');
    expect(event.type).toBe('org.relengd.compose.finished');
  });

  it('keeps the prefix an event arrived with rather than the publishing one', () => {
    const envelope = makeEnvelope({ topic: 'org.centos.stage.buildsys.tag', data: { tag: 't', name: 'n', version: 'v', release: 'r' } }, { receivedAt });
    expect(toCloudEvent(envelope, prefix)[TOPIC_EXTENSION]).toBe('org.centos.stage.buildsys.tag');
  });

  it('gives back the same envelope from the CloudEvent', () => {
    const original = relengdEnvelope();
    const back = makeEnvelope(inputFromCloudEvent(toCloudEvent(original, prefix)), { prefix, receivedAt: '2030-01-01T00:00:00.000Z' });
    expect(back).toMatchObject({
      id: original.id,
      topic: 'relengd.compose.finished',
      prefix,
      type: original.type,
      source: original.source,
      time: '2024-06-21T12:52:29.000Z',
      subject: 'silverblue/41.20240621.0',
      correlationid: '2019-e43eb49a-b0da-4fb9-88e9-ef3f5eebc97d',
      causationid: 'c0ffee00-0000-8000-8000-000000000001',
      known: true,
    });
    expect(back.data).toEqual(composeFinished);
  });

  it('gives back the same envelope after the CloudEvent went through JSON (structured mode)', () => {
    const original = relengdEnvelope();
    const wire = JSON.stringify(toCloudEvent(original, prefix));
    const event = new CloudEvent<unknown>(JSON.parse(wire) as Record<string, unknown>);
    const back = makeEnvelope(inputFromCloudEvent(event), { prefix, receivedAt });
    expect(back).toMatchObject({
      id: original.id,
      topic: original.topic,
      prefix,
      subject: original.subject,
      correlationid: original.correlationid,
      causationid: original.causationid,
      time: original.time,
    });
    expect(back.data).toEqual(composeFinished);
  });

  it('round-trips an event without subject or causation id, leaving them unset', () => {
    const original = makeEnvelope({ topic: 'org.fedoraproject.prod.bodhi.compose.complete', data: composeComplete, id: 'm1' }, { receivedAt });
    const event = toCloudEvent(original, prefix);
    expect(event.subject).toBeUndefined();
    const back = makeEnvelope(inputFromCloudEvent(event), { receivedAt });
    expect(back).toMatchObject({ id: 'm1', topic: 'bodhi.compose.complete', prefix, correlationid: 'm1', time: receivedAt });
    expect(back.subject).toBeUndefined();
    expect(back.causationid).toBeUndefined();
    expect(back.data).toEqual(composeComplete);
  });

  it.each([
    ['a relengd type', 'org.relengd.compose.finished', 'relengd.compose.finished'],
    ['a Fedora type', 'org.fedoraproject.prod.buildsys.tag', 'org.fedoraproject.prod.buildsys.tag'],
  ])('takes the topic from %s when the topic extension is missing', (_what, type, topic) => {
    const event = new CloudEvent<unknown>({ id: 'e1', type, source: '/test', data: {} }, false);
    expect(inputFromCloudEvent(event).topic).toBe(topic);
  });

  it('files a Fedora CloudEvent without topic extension under its catalogue topic', () => {
    const data = { tag: 'f41-updates-candidate', name: 'rpm-ostree', version: '2024.6', release: '1.fc41' };
    const event = new CloudEvent<unknown>({ id: 'e1', type: 'org.fedoraproject.prod.buildsys.tag', source: '/koji', data }, false);
    const envelope = makeEnvelope(inputFromCloudEvent(event), { receivedAt });
    expect(envelope).toMatchObject({ topic: 'buildsys.tag', prefix: 'org.fedoraproject.prod', known: true });
  });
});

describe('envelope regressions', () => {
  const at = '2026-11-26T00:00:00.000Z';
  it('decodes a CloudEvent body sent as data_base64', () => {
    const body = { repo: 'f29-updates-testing', success: true };
    const event = new CloudEvent<unknown>({ id: 'e1', type: 'org.fedoraproject.prod.bodhi.compose.complete', source: '/bodhi', datacontenttype: 'application/json', data_base64: Buffer.from(JSON.stringify(body)).toString('base64') });
    expect(makeEnvelope(inputFromCloudEvent(event), { receivedAt: at }).data).toEqual(body);
  });

  it('rejects a data_base64 body that is not JSON as not-json', () => {
    const bad = new CloudEvent<unknown>({ id: 'e1', type: 'org.fedoraproject.prod.bodhi.compose.complete', source: '/bodhi', data_base64: Buffer.from('not json').toString('base64') });
    expect(() => inputFromCloudEvent(bad)).toThrow(expect.objectContaining({ reason: 'not-json' }));
  });

  it('reads a time without offset as UTC and ignores junk times', () => {
    const data = { repo: 'r', success: true };
    expect(makeEnvelope({ topic: 'bodhi.compose.complete', data, time: '2019-06-07T16:49:58' }, { receivedAt: at }).time).toBe('2019-06-07T16:49:58.000Z');
    expect(makeEnvelope({ topic: 'bodhi.compose.complete', data, time: '12' }, { receivedAt: at }).time).toBe(at);
  });
});
