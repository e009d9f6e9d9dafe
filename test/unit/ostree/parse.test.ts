/**
 * The pure parsers of `ostree` output, on output recorded from ostree 2022.7 (run with
 * LC_ALL=C.UTF-8, as execRun does). Literals are the exact stdout/stderr, newlines included.
 */
import { describe, expect, it } from 'vitest';
import { OstreeParseError } from '../../../src/ostree/errors.ts';
import { parseChecksum, parseGVariantString, parseLog, parseRefs, parseStaticDeltas } from '../../../src/ostree/parse.ts';
import { classifyFailure } from '../../../src/ostree/stderr.ts';

const A = 'bb9ebadb431884170a8fd0977ce7dd91a5503d50fbc171d4ecffb60acbb720b9';
const B = '447edcb03deb9d00ed4237e9ab112d111417318ac266099a59d0349e6a18fcb5';
const C = 'b8dff582d16c2535392dd925df5fba21a808789e01075b6df087012417767c89';
const TREE_A = '7891cb878a1244e51fb36c7e6fb35743a5f856c18fb3fc775328bdf9dc5899a1';
const TREE_B = 'ee4599bf486628f5d665d03a28521f2df367bd3a751df131d026f607104eb119';

/**
 * `ostree log fedora/26/x86_64/atomic-host` after: A with an empty subject; B with subject, a body
 * containing a blank and an indented line, version 26.100; C = `--tree=ref=B`, version 26.101.
 */
const LOG =
  'commit b8dff582d16c2535392dd925df5fba21a808789e01075b6df087012417767c89\nParent:  447edcb03deb9d00ed4237e9ab112d111417318ac266099a59d0349e6a18fcb5\nContentChecksum:  ee4599bf486628f5d665d03a28521f2df367bd3a751df131d026f607104eb119\nDate:  2017-08-02 00:00:00 +0000\nVersion: 26.101\n\n    Promote 26.101\n\n' +
  'commit 447edcb03deb9d00ed4237e9ab112d111417318ac266099a59d0349e6a18fcb5\nParent:  bb9ebadb431884170a8fd0977ce7dd91a5503d50fbc171d4ecffb60acbb720b9\nContentChecksum:  ee4599bf486628f5d665d03a28521f2df367bd3a751df131d026f607104eb119\nDate:  2017-08-01 08:30:15 +0000\nVersion: 26.100\n\n    Release 26.100\n\n    Packages changed:\n    \n      kernel 4.11 -> 4.12\n    end\n\n' +
  'commit bb9ebadb431884170a8fd0977ce7dd91a5503d50fbc171d4ecffb60acbb720b9\nContentChecksum:  7891cb878a1244e51fb36c7e6fb35743a5f856c18fb3fc775328bdf9dc5899a1\nDate:  2017-07-04 12:00:00 +0000\n(no subject)\n\n';

/** The same log after A's commit object was removed (as after a shallow pull). */
const LOG_TRUNCATED =
  'commit b8dff582d16c2535392dd925df5fba21a808789e01075b6df087012417767c89\nParent:  447edcb03deb9d00ed4237e9ab112d111417318ac266099a59d0349e6a18fcb5\nContentChecksum:  ee4599bf486628f5d665d03a28521f2df367bd3a751df131d026f607104eb119\nDate:  2017-08-02 00:00:00 +0000\nVersion: 26.101\n\n    Promote 26.101\n\n' +
  'commit 447edcb03deb9d00ed4237e9ab112d111417318ac266099a59d0349e6a18fcb5\nParent:  bb9ebadb431884170a8fd0977ce7dd91a5503d50fbc171d4ecffb60acbb720b9\nContentChecksum:  ee4599bf486628f5d665d03a28521f2df367bd3a751df131d026f607104eb119\nDate:  2017-08-01 08:30:15 +0000\nVersion: 26.100\n\n    Release 26.100\n\n    Packages changed:\n    \n      kernel 4.11 -> 4.12\n    end\n\n' +
  '<< History beyond this commit not fetched >>\n';

/** `ostree show` of a GPG-signed commit: a signature block follows the entry. */
const SHOW_SIGNED =
  "commit 1616928b343d089ac039e897b77adf4b4e6845dd5e85790f77dbcc04d7c7cde6\nContentChecksum:  7d5f923068224ab795288537b2b3efb3977b92c26eab746f7c2a446d82a8f22e\nDate:  2026-11-26 06:24:38 +0000\n\n    signed one\n\nFound 1 signature:\n\n  Signature made Thu Nov 26 06:24:38 2026 using EdDSA key ID 5BCFD4A8466C0D54\n  Can't check signature: public key not found\n";

/** `ostree show` of a commit with no subject but a body. */
const SHOW_NO_SUBJECT_WITH_BODY =
  'commit 11a3b5be2f9f2d1559294f325706c0868675db42e5b558645c4c81b7f7c30c88\nContentChecksum:  7891cb878a1244e51fb36c7e6fb35743a5f856c18fb3fc775328bdf9dc5899a1\nDate:  2017-09-01 00:00:00 +0000\n(no subject)\n\n    Body only.\n    Second line.\n\n';

/** `ostree show` of a commit with a two-line subject and a non-ASCII version. */
const SHOW_MULTILINE_SUBJECT =
  'commit 6fac5eee7064a357c8d4907916eab15ffd8ca8b548cc4ba6692fd4eab6eb3c7c\nContentChecksum:  7891cb878a1244e51fb36c7e6fb35743a5f856c18fb3fc775328bdf9dc5899a1\nDate:  2017-09-02 00:00:00 +0000\nVersion: héllo ✓\n\n    Line one\n    line two\n\n';

describe('parseLog', () => {
  it('reads every commit newest first, with parent, content checksum, date, version, subject and body', () => {
    expect(parseLog(LOG)).toEqual([
      { checksum: C, parent: B, contentChecksum: TREE_B, date: '2017-08-02T00:00:00Z', version: '26.101', subject: 'Promote 26.101', body: '' },
      {
        checksum: B,
        parent: A,
        contentChecksum: TREE_B,
        date: '2017-08-01T08:30:15Z',
        version: '26.100',
        subject: 'Release 26.100',
        body: 'Packages changed:\n\n  kernel 4.11 -> 4.12\nend',
      },
      { checksum: A, parent: null, contentChecksum: TREE_A, date: '2017-07-04T12:00:00Z', version: null, subject: '', body: '' },
    ]);
  });

  it('stops at "History beyond this commit not fetched" and keeps the last parent checksum', () => {
    const entries = parseLog(LOG_TRUNCATED);
    expect(entries.map((e) => e.checksum)).toEqual([C, B]);
    expect(entries[1]!.parent).toBe(A);
  });

  it('ignores the signature block ostree show prints after a signed commit', () => {
    expect(parseLog(SHOW_SIGNED)).toEqual([
      {
        checksum: '1616928b343d089ac039e897b77adf4b4e6845dd5e85790f77dbcc04d7c7cde6',
        parent: null,
        contentChecksum: '7d5f923068224ab795288537b2b3efb3977b92c26eab746f7c2a446d82a8f22e',
        date: '2026-11-26T06:24:38Z',
        version: null,
        subject: 'signed one',
        body: '',
      },
    ]);
  });

  it('reads a body after "(no subject)"', () => {
    expect(parseLog(SHOW_NO_SUBJECT_WITH_BODY)[0]).toMatchObject({ subject: '', body: 'Body only.\nSecond line.' });
  });

  it('keeps a multi-line subject and a non-ASCII version', () => {
    expect(parseLog(SHOW_MULTILINE_SUBJECT)[0]).toMatchObject({ subject: 'Line one\nline two', body: '', version: 'héllo ✓' });
  });

  it('returns nothing for output without commits (ostree show of a dirtree, empty output)', () => {
    expect(parseLog('dirtree e6e070c2f676f71057e02bdf2e6e53939935bbc98b8f924752dd7e93fc222b29\n')).toEqual([]);
    expect(parseLog('')).toEqual([]);
  });

  it('refuses an entry without ContentChecksum or Date, or with a header it cannot read', () => {
    expect(() => parseLog(`commit ${A}\nDate:  2017-07-04 12:00:00 +0000\n\n    s\n\n`)).toThrow(OstreeParseError);
    expect(() => parseLog(`commit ${A}\nContentChecksum:  ${TREE_A}\nDate:  2017-07-04 12:00:00 +0000\nnonsense\n\n    s\n\n`)).toThrow(OstreeParseError);
    expect(() => parseLog(`commit ${A}\nContentChecksum:  ${TREE_A}\n`)).toThrow(OstreeParseError);
  });
});

describe('parseGVariantString', () => {
  // Left: `ostree show --print-metadata-key=K C` stdout for the value on the right.
  it.each([
    ["'26.20261126.0'\n", '26.20261126.0'],
    ["''\n", ''],
    ["'a=b'\n", 'a=b'],
    ['"it\'s"\n', "it's"],
    ['\'say "hi"\'\n', 'say "hi"'],
    ['"it\'s \\"x\\""\n', 'it\'s "x"'],
    ["'C:\\\\path\\\\n'\n", 'C:\\path\\n'],
    ["'a\\nb\\tc\\rd'\n", 'a\nb\tc\rd'],
    ["'\\a\\b\\f\\v'\n", '\x07\b\f\v'],
    ["'x\\u0001y\\u007fz\\u001b'\n", 'x\x01y\x7fz\x1b'],
    ["'héllo ✓ 😀'\n", 'héllo ✓ 😀'],
  ])('reads the string %j', (printed, value) => {
    expect(parseGVariantString(printed)).toBe(value);
  });

  it('reads \\U escapes (GLib writes non-printable characters above U+FFFF that way)', () => {
    expect(parseGVariantString("'\\U0001f600'")).toBe('😀');
  });

  it('reads string arrays, with either quote and escapes', () => {
    expect(parseGVariantString("['fedora/26/x86_64/atomic-host', 'fedora/26/x86_64/atomic-host', 'fedora/stable']\n")).toEqual([
      'fedora/26/x86_64/atomic-host',
      'fedora/26/x86_64/atomic-host',
      'fedora/stable',
    ]);
    expect(parseGVariantString("['a', \"it's\", 'q\"x', 'b\\\\s', 'nl\\n']\n")).toEqual(['a', "it's", 'q"x', 'b\\s', 'nl\n']);
    expect(parseGVariantString("['only']\n")).toEqual(['only']);
  });

  it('reads the empty array, which GLib prints with its type: @as []', () => {
    expect(parseGVariantString('@as []\n')).toEqual([]);
  });

  it.each(['uint64 3026418949592973312\n', '117440512\n', 'true\n', "<'inner'>\n", "objectpath '/a/b'\n", "{'k': <'v'>}\n"])(
    'refuses a value that is not a string or string array: %j',
    (printed) => {
      expect(() => parseGVariantString(printed)).toThrow(OstreeParseError);
    },
  );

  it.each(["'unterminated", "'bad \\q escape'", "'short \\u12'", "'a' trailing", "['a' 'b']", "['a',"])('refuses malformed text %j', (printed) => {
    expect(() => parseGVariantString(printed)).toThrow(OstreeParseError);
  });
});

describe('parseRefs', () => {
  it('lists one ref per line, sorted', () => {
    expect(parseRefs('promo\nnb2\nfedora/26/x86_64\nnb\nzz\n')).toEqual(['fedora/26/x86_64', 'nb', 'nb2', 'promo', 'zz']);
  });

  it('keeps remote refs as remote:ref and reads empty output as no refs', () => {
    expect(parseRefs('origin:x\n')).toEqual(['origin:x']);
    expect(parseRefs('')).toEqual([]);
  });
});

describe('parseStaticDeltas', () => {
  it('reads "(No static deltas)" as none', () => {
    expect(parseStaticDeltas('(No static deltas)\n')).toEqual([]);
  });

  it('reads FROM-TO and TO (from scratch), sorted by to then from', () => {
    expect(parseStaticDeltas(`${B}-${C}\n${C}\n`)).toEqual([
      { from: null, to: C },
      { from: B, to: C },
    ]);
  });

  it('refuses a line that is not a delta name', () => {
    expect(() => parseStaticDeltas('something else\n')).toThrow(OstreeParseError);
  });
});

describe('parseChecksum', () => {
  it('reads the checksum ostree commit and rev-parse print', () => {
    expect(parseChecksum(`${C}\n`)).toBe(C);
  });

  it('refuses anything else', () => {
    expect(() => parseChecksum('')).toThrow(OstreeParseError);
    expect(() => parseChecksum(`${C}\n${B}\n`)).toThrow(OstreeParseError);
  });
});

describe('classifyFailure', () => {
  it.each([
    ["error: Refspec 'nope' not found\n", 'no-such-ref'],
    ["error: Couldn't open ref 'fedora/26': Is a directory\n", 'no-such-ref'],
    ['error: Commit 22743c08de183465e8ff252bcd9500457821e86535c85c33a588b2c46b7ac28e has no parent\n', 'no-parent'],
    ["error: No such metadata key 'nokey'\n", 'no-such-metadata-key'],
    [`error: No such metadata object ${A}.commit\n`, 'no-such-commit'],
    ["error: Couldn't find file object '0000000000000000000000000000000000000000000000000000000000000000'\n", 'no-such-commit'],
    ['error: opening repo: opendir(/tmp/nonexist): No such file or directory\n', 'other'],
    ['error: --create specified but ref x already exists\n', 'other'],
  ] as const)('classifies %j as %s', (stderr, failure) => {
    expect(classifyFailure(stderr)).toBe(failure);
  });
});
