/**
 * Deterministic ids: re-processing the same cause, or receiving the same id-less message again,
 * must give the same id so the inbox and the jobs table drop the repeat.
 */
import { describe, expect, it } from 'vitest';
import { composeId, emittedEventId, idOfIdLessMessage, isDerivedId, jobId } from '../../../src/events/ids.ts';

/** RFC 9562: version nibble 8 (custom), variant bits 10xx. */
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('emittedEventId', () => {
  const cause = '2019-e43eb49a-b0da-4fb9-88e9-ef3f5eebc97d';

  it('derives the same id from the same inputs', () => {
    expect(emittedEventId(cause, 'compose-trigger', 'fedora/x86_64/silverblue')).toBe(
      emittedEventId(cause, 'compose-trigger', 'fedora/x86_64/silverblue'),
    );
  });

  it.each([
    ['cause', ['2019-other', 'compose-trigger', 'fedora/x86_64/silverblue']],
    ['listener', [cause, 'artifact-trigger', 'fedora/x86_64/silverblue']],
    ['key', [cause, 'compose-trigger', 'fedora/aarch64/silverblue']],
    ['key (empty)', [cause, 'compose-trigger', '']],
  ] as const)('derives a different id when the %s differs', (_what, [c, l, k]) => {
    expect(emittedEventId(c, l, k)).not.toBe(emittedEventId(cause, 'compose-trigger', 'fedora/x86_64/silverblue'));
  });

  it('formats the id as an RFC 9562 version 8 UUID', () => {
    for (const id of [emittedEventId(cause, 'l', 'k'), emittedEventId('', '', ''), emittedEventId('a', 'b', 'c')]) {
      expect(id).toMatch(UUID_V8);
    }
  });

  it('sets the version and variant bits on many different digests', () => {
    const ids = Array.from({ length: 200 }, (_, i) => emittedEventId(`cause-${i}`, 'listener', 'key'));
    for (const id of ids) expect(id).toMatch(UUID_V8);
    expect(new Set(ids).size).toBe(ids.length);
  });

  type Args = [causeId: string, listener: string, key: string];
  it.each<[Args, Args]>([
    [['a', 'bc', 'd'], ['ab', 'c', 'd']],
    [['a', 'b', 'cd'], ['a', 'bc', 'd']],
    [['', 'ab', 'c'], ['a', 'b', 'c']],
    [['a', '', 'b'], ['a', 'b', '']],
  ])('keeps %j and %j apart although they concatenate alike', (left, right) => {
    expect(emittedEventId(...left)).not.toBe(emittedEventId(...right));
  });
});

describe('idOfIdLessMessage', () => {
  const topic = 'org.fedoraproject.prod.bodhi.compose.complete';
  const body = { repo: 'f29-updates-testing', success: true, nested: { b: 1, a: [1, { y: 2, x: 3 }] } };

  it('gives the same id for the same topic and body, whatever the key order', () => {
    const reordered = { nested: { a: [1, { x: 3, y: 2 }], b: 1 }, success: true, repo: 'f29-updates-testing' };
    expect(idOfIdLessMessage(topic, reordered)).toBe(idOfIdLessMessage(topic, body));
  });

  it('gives a different id for the same body under another topic', () => {
    expect(idOfIdLessMessage(topic, body)).not.toBe(idOfIdLessMessage('org.fedoraproject.prod.bodhi.mashtask.complete', body));
  });

  it('gives a different id for a different body, array order included', () => {
    expect(idOfIdLessMessage(topic, body)).not.toBe(idOfIdLessMessage(topic, { ...body, success: false }));
    expect(idOfIdLessMessage(topic, [1, 2])).not.toBe(idOfIdLessMessage(topic, [2, 1]));
  });

  it('keeps topic and body apart although they concatenate alike', () => {
    expect(idOfIdLessMessage('a"', 'b')).not.toBe(idOfIdLessMessage('a', '"b'));
  });

  it('is a version 8 UUID outside the derived space, so intake takes it', () => {
    for (const id of [idOfIdLessMessage(topic, body), idOfIdLessMessage('', undefined)]) {
      expect(id).toMatch(UUID_V8);
      expect(isDerivedId(id)).toBe(false);
    }
  });
});

describe('the derived ids', () => {
  it('are in the derived space, which intake refuses from outside', () => {
    for (const id of [emittedEventId('c', 'l', 'k'), jobId('c', 'l', 'k'), composeId('c', 'l', 'k')]) expect(isDerivedId(id)).toBe(true);
  });

  it('never give an event, a job and a compose from the same cause, decider and key the same id', () => {
    const ids = [emittedEventId('c', 'tag-changed', 's'), jobId('c', 'tag-changed', 's'), composeId('c', 'tag-changed', 's')];
    expect(new Set(ids).size).toBe(3);
  });
});

describe('emittedEventId regressions', () => {
  it('keeps parts apart even when one contains the old separator', () => {
    expect(emittedEventId('a\0b', 'c', 'd')).not.toBe(emittedEventId('a', 'b\0c', 'd'));
  });
});
