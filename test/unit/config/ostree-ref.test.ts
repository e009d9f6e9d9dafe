import { describe, expect, it } from 'vitest';
import { MAX_REF_LENGTH, OstreeRef, isValidRef, refProblem } from '../../../src/config/index.ts';

describe('OSTree ref grammar', () => {
  it.each([
    'fedora/26/x86_64/atomic-host',
    'fedora/26/x86_64/updates/atomic-host',
    'exampleos/x86_64/stable',
    'fedora/stable/x86_64/coreos',
    '_private/a.b-c',
    'a..b',
  ])('accepts %s', (ref) => {
    expect(isValidRef(ref)).toBe(true);
    expect(refProblem(ref)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['/a', /starts with "\/"/],
    ['a//b', /empty component/],
    ['a/', /ends with "\/"/],
    ['remote:ref', /remote prefix/],
    ['a/../b', /"\.\." component/],
    ['a/./b', /"\." component/],
    ['-a', /must start with a letter, digit or "_"/],
    ['.hidden', /must start with/],
    ['a b', /a space/],
    ['a;rm -rf', /";"/],
    ['a\nb', /control character|whitespace/],
    ['é', /non-ASCII/],
    ['a'.repeat(MAX_REF_LENGTH + 1), /longer than 255/],
  ])('rejects %j: %s', (ref, why) => {
    expect(isValidRef(ref)).toBe(false);
    expect(refProblem(ref)).toMatch(why);
  });

  it('accepts a ref of exactly the maximum length', () => {
    expect(isValidRef('a'.repeat(MAX_REF_LENGTH))).toBe(true);
  });

  it('the zod schema says why a ref is invalid', () => {
    const result = OstreeRef.safeParse('a//b');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('not a valid OSTree ref: has an empty component ("//")');
    expect(OstreeRef.parse('exampleos/x86_64/stable')).toBe('exampleos/x86_64/stable');
  });
});
