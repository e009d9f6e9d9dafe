/**
 * Fuzz: the OSTree ref grammar (src/config/ostree-ref.ts) and the argument checks run before any
 * `ostree` command (src/ostree/validate.ts), on arbitrary strings and values. Nothing throws but the
 * typed errors; what is accepted is exactly what an independent reading of libostree accepts.
 *
 * The reference, from libostree's src/libostree/ostree-core.c (since 2017.13, "Disallow refs
 * starting with a non-letter or digit"), as `ostree_validate_rev()` applies it:
 *
 *   OSTREE_REF_FRAGMENT_REGEXP = "[\w\d][-._\w\d]*"
 *   OSTREE_REF_REGEXP          = "(?:" FRAGMENT "/)*" FRAGMENT        matched as ^...$
 *
 * relengd is stricter on purpose, as its grammar documents: `\w` is ASCII only, a ref is at most 255
 * characters, and a `remote:` prefix (a refspec, `ostree_parse_refspec()`) is refused. Accepted refs
 * also match the older, looser grammar (`[-._\w\d]+` fragments, before 2017.13).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_REF_LENGTH, OstreeRef, isValidRef, refProblem } from '../../src/config/index.ts';
import { InvalidRefError } from '../../src/errors.ts';
import { InvalidChecksumError, InvalidOstreeArgumentError } from '../../src/ostree/errors.ts';
import { assertChecksum, assertMetadataKey, assertRef, assertRev, assertText, assertTimestamp, isChecksum } from '../../src/ostree/validate.ts';
import { anyString } from './arbitraries.ts';
import { fuzz, KnownBugs, RUNS, TIMEOUT } from './harness.ts';

const FRAGMENT = '[A-Za-z0-9_][-._A-Za-z0-9_]*';
/** ostree_validate_rev() with ASCII \w, plus relengd's length cap. */
const OSTREE_REF = new RegExp(`^(?:${FRAGMENT}/)*${FRAGMENT}$`);
/** The pre-2017.13 grammar: any fragment of [-._\w\d]. */
const OSTREE_REF_LOOSE = /^[-._A-Za-z0-9]+(?:\/[-._A-Za-z0-9]+)*$/;
/** ostree_parse_refspec(): `remote:ref`. */
const OSTREE_REFSPEC = new RegExp(`^(${FRAGMENT}):((?:${FRAGMENT}/)*${FRAGMENT})$`);

const referenceAccepts = (ref: string) => OSTREE_REF.test(ref) && ref.length <= MAX_REF_LENGTH;

/** Strings near the grammar: components of ref characters and troublemakers, joined by `/` (or not). */
const refChar = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('a', 'Z', 'x', '0', '9', '_', '-', '.') },
  { weight: 3, arbitrary: fc.constantFrom('/', ':', '..', '//') },
  { weight: 1, arbitrary: fc.constantFrom(' ', '\t', '\n', '\0', '\x7f', '~', '^', '@', '{', '}', '*', '?', '[', '\\', ';', '$', 'é', 'ß', '\u0660', '\u00a0', '\ud800', '\u{1f600}') },
);
const refLike = fc.oneof(
  { weight: 6, arbitrary: fc.array(refChar, { maxLength: 30 }).map((parts) => parts.join('')) },
  // Around the length limit.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: MAX_REF_LENGTH - 3, max: MAX_REF_LENGTH + 3 }), fc.constantFrom('a', 'ab/', 'a.')).map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)) },
  // Refspecs.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('fedora', 'origin', '-x', ''), fc.constantFrom('fedora/26/x86_64/atomic-host', 'a', '/a')).map(([r, ref]) => `${r}:${ref}`) },
  { weight: 2, arbitrary: anyString(40) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
);
/** Anything at all, for the checks that take `unknown` at run time. */
const anything = fc.oneof({ weight: 4, arbitrary: refLike }, { weight: 1, arbitrary: fc.anything() });

function printable(value: unknown): boolean {
  try {
    String(value);
    return true;
  } catch {
    return false;
  }
}

const known = (log: KnownBugs) => log.hit('ostree-assert-unprintable');

/** Runs `fn`; the error it threw (must be one of `types`), or undefined. */
function thrown(fn: () => void, ...types: (new (...args: never[]) => Error)[]): Error | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (!types.some((type) => error instanceof type)) throw new Error(`threw ${String(error)}, not one of ${types.map((t) => t.name).join(', ')}`, { cause: error });
    return error as Error;
  }
}

describe('fuzz: OSTree ref grammar', () => {
  it(`refProblem accepts exactly what libostree's ref grammar accepts (ASCII, <= ${MAX_REF_LENGTH}) (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    fuzz(ctx, refLike, (ref, log) => {
      const problem = refProblem(ref);
      log.outcome(problem === undefined ? 'accepted' : 'rejected');
      expect(problem === undefined).toBe(referenceAccepts(ref));
      expect(isValidRef(ref)).toBe(problem === undefined);
      if (problem === undefined) {
        expect(ref).toMatch(OSTREE_REF_LOOSE);
        // A ref is a path under refs/heads/: no traversal, no absolute path.
        expect(ref.split('/')).not.toContain('..');
        expect(ref.startsWith('/')).toBe(false);
      } else {
        expect(problem).toMatch(/\S/);
        if (OSTREE_REFSPEC.test(ref) && ref.length <= MAX_REF_LENGTH) expect(problem).toMatch(/remote prefix/);
      }
    });
  });

  it(`the OstreeRef config type: success exactly for valid refs, else zod issues; never a throw (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    fuzz(ctx, anything, (value, log) => {
      const result = OstreeRef.safeParse(value);
      const valid = typeof value === 'string' && referenceAccepts(value);
      log.outcome(result.success ? 'accepted' : 'rejected');
      expect(result.success).toBe(valid);
      if (result.success) expect(result.data).toBe(value);
      else {
        expect(result.error.issues.length).toBeGreaterThan(0);
        for (const issue of result.error.issues) {
          expect(['custom', 'invalid_type']).toContain(issue.code);
          if (issue.code === 'custom') expect(issue.message).toMatch(/^not a valid OSTree ref: \S/);
        }
      }
    });
  });

  it(`assertRef/assertRev throw InvalidRefError or nothing, and pass exactly the refs ostree cannot misread (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    const checksum = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-fA-F]{60,66}$/));
    fuzz(ctx, fc.oneof({ weight: 6, arbitrary: anything }, { weight: 1, arbitrary: checksum }), (value, log) => {
      // Known bug `ostree-assert-unprintable`: for a non-string, assertRef and assertChecksum build
      // their error from String(value), which itself throws a TypeError for an object whose
      // toString/valueOf are not functions ({toString: []}) or that has no prototype.
      if (typeof value !== 'string' && !printable(value) && known(log)) return;
      const refError = thrown(() => assertRef(value as string), InvalidRefError);
      // relengd's own rule on top of the grammar: an all-lowercase-hex name is a (partial) checksum to ostree.
      const refOk = typeof value === 'string' && referenceAccepts(value) && !/^[0-9a-f]+$/.test(value);
      log.outcome(refError === undefined ? 'accepted' : 'rejected');
      expect(refError === undefined).toBe(refOk);
      if (refError) expect((refError as InvalidRefError).ref).toBe(String(value));

      const revError = thrown(() => assertRev(value as string), InvalidRefError);
      expect(revError === undefined).toBe(refOk || (typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)));

      const checksumError = thrown(() => assertChecksum(value as string), InvalidChecksumError);
      expect(checksumError === undefined).toBe(isChecksum(value as string));
    });
  });

  it(`the other ostree argument checks throw InvalidOstreeArgumentError or nothing (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    const timestampLike = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})$/),
      fc.constantFrom('2026-02-30T10:00:00Z', '2026-11-26T25:00:00Z', '2026-11-26T10:00:00', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00.000Z'),
    );
    fuzz(ctx, fc.oneof({ weight: 1, arbitrary: anything }, { weight: 1, arbitrary: timestampLike }), (value, log) => {
      const text = thrown(() => assertText('subject', value as string), InvalidOstreeArgumentError);
      expect(text === undefined).toBe(typeof value === 'string' && !value.includes('\0'));
      const key = thrown(() => assertMetadataKey(value as string), InvalidOstreeArgumentError);
      expect(key === undefined).toBe(text === undefined && value !== '' && !(value as string).includes('='));
      const time = thrown(() => assertTimestamp(value as string), InvalidOstreeArgumentError);
      log.outcome(time === undefined ? 'timestamp accepted' : 'timestamp rejected');
      if (time === undefined) expect(Number.isNaN(Date.parse(value as string))).toBe(false);
    });
  });
});
