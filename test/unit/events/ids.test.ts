/**
 * Deterministic ids: re-processing the same cause, or receiving the same id-less bytes again,
 * must give the same id so the inbox and the jobs table drop the repeat.
 */
import { describe, expect, it } from 'vitest';
import { deriveId, idFromBytes } from '../../../src/events/ids.ts';

/** RFC 9562: version nibble 8 (custom), variant bits 10xx. */
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('deriveId', () => {
  const cause = '2019-e43eb49a-b0da-4fb9-88e9-ef3f5eebc97d';

  it('derives the same id from the same inputs', () => {
    expect(deriveId(cause, 'compose-trigger', 'fedora/x86_64/silverblue')).toBe(
      deriveId(cause, 'compose-trigger', 'fedora/x86_64/silverblue'),
    );
  });

  it.each([
    ['cause', ['2019-other', 'compose-trigger', 'fedora/x86_64/silverblue']],
    ['listener', [cause, 'artifact-trigger', 'fedora/x86_64/silverblue']],
    ['key', [cause, 'compose-trigger', 'fedora/aarch64/silverblue']],
    ['key (empty)', [cause, 'compose-trigger', '']],
  ] as const)('derives a different id when the %s differs', (_what, [c, l, k]) => {
    expect(deriveId(c, l, k)).not.toBe(deriveId(cause, 'compose-trigger', 'fedora/x86_64/silverblue'));
  });

  it('formats the id as an RFC 9562 version 8 UUID', () => {
    for (const id of [deriveId(cause, 'l', 'k'), deriveId('', '', ''), deriveId('a', 'b', 'c')]) {
      expect(id).toMatch(UUID_V8);
    }
  });

  it('sets the version and variant bits on many different digests', () => {
    const ids = Array.from({ length: 200 }, (_, i) => deriveId(`cause-${i}`, 'listener', 'key'));
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
    expect(deriveId(...left)).not.toBe(deriveId(...right));
  });
});

describe('idFromBytes', () => {
  const body = bytes('{"repo":"f29-updates-testing","success":true}');

  it('gives the same id for the same topic and bytes', () => {
    expect(idFromBytes('org.fedoraproject.prod.bodhi.compose.complete', body)).toBe(
      idFromBytes('org.fedoraproject.prod.bodhi.compose.complete', bytes('{"repo":"f29-updates-testing","success":true}')),
    );
  });

  it('gives a different id for the same bytes under another topic', () => {
    expect(idFromBytes('org.fedoraproject.prod.bodhi.compose.complete', body)).not.toBe(
      idFromBytes('org.fedoraproject.prod.bodhi.mashtask.complete', body),
    );
  });

  it('gives a different id for different bytes', () => {
    expect(idFromBytes('bodhi.compose.complete', body)).not.toBe(
      idFromBytes('bodhi.compose.complete', bytes('{"repo":"f29-updates-testing","success":false}')),
    );
  });

  it('keeps topic and bytes apart although they concatenate alike', () => {
    expect(idFromBytes('ab', bytes('c'))).not.toBe(idFromBytes('a', bytes('bc')));
  });

  it('formats the id as an RFC 9562 version 8 UUID', () => {
    expect(idFromBytes('bodhi.compose.complete', body)).toMatch(UUID_V8);
    expect(idFromBytes('', new Uint8Array())).toMatch(UUID_V8);
  });
});

describe('deriveId regressions', () => {
  it('keeps parts apart even when one contains the old separator', () => {
    expect(deriveId('a\0b', 'c', 'd')).not.toBe(deriveId('a', 'b\0c', 'd'));
  });
});
