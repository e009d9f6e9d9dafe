import { z } from 'zod';

/**
 * The OSTree ref grammar, as libostree's `ostree_validate_rev()` checks it
 * (src/libostree/ostree-core.c):
 *
 * ```
 * OSTREE_REF_FRAGMENT_REGEXP = "[\w\d][-._\w\d]*"
 * OSTREE_REF_REGEXP          = "(?:" FRAGMENT "/)*" FRAGMENT
 * ```
 *
 * i.e. one or more components separated by `/`; each component starts with a letter, digit or
 * underscore and continues with those or `-` `.`. Consequences: no empty component (no leading,
 * trailing or doubled `/`), no `.`/`..` component (no path traversal: a ref is also a file path
 * under `refs/heads/`), no `remote:` prefix (that is a refspec, not a ref), no whitespace or shell
 * metacharacters.
 *
 * Stricter than libostree in two ways, on purpose: `\w` is ASCII only here (GLib's PCRE may match
 * Unicode letters; such refs are not portable across file systems and mirrors), and a ref is at
 * most {@link MAX_REF_LENGTH} characters (a ref component is a file name).
 */
const COMPONENT = /^[A-Za-z0-9_][-._A-Za-z0-9]*$/;

/** Longest ref accepted (a ref ends up as a path under the repo's `refs/heads/`). */
export const MAX_REF_LENGTH = 255;

/** Why `ref` is not a valid OSTree ref, or `undefined` when it is one. */
export function refProblem(ref: string): string | undefined {
  if (ref.length === 0) return 'empty';
  if (ref.length > MAX_REF_LENGTH) return `longer than ${MAX_REF_LENGTH} characters`;
  if (ref.includes(':')) return 'contains ":" (a remote prefix is not allowed; give the bare ref)';
  const components = ref.split('/');
  for (const [i, component] of components.entries()) {
    if (component === '') {
      if (i === 0) return 'starts with "/"';
      if (i === components.length - 1) return 'ends with "/"';
      return 'has an empty component ("//")';
    }
    if (component === '.' || component === '..') return `has a "${component}" component (no path traversal)`;
    if (COMPONENT.test(component)) continue;
    const bad = [...component].find((c) => !/[-._A-Za-z0-9]/.test(c));
    if (bad !== undefined) return `component "${component}" contains ${describeChar(bad)}`;
    return `component "${component}" must start with a letter, digit or "_"`;
  }
  return undefined;
}

/** True when `ref` is a valid local OSTree ref (see {@link refProblem} for the reason when not). */
export function isValidRef(ref: string): boolean {
  return refProblem(ref) === undefined;
}

/** A config value that must be an OSTree ref. */
export const OstreeRef = z.string().superRefine((ref, ctx) => {
  const why = refProblem(ref);
  if (why !== undefined) ctx.addIssue({ code: 'custom', message: `not a valid OSTree ref: ${why}`, input: ref });
});

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  if (/\s/.test(c)) return `whitespace (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  const code = c.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
  if (code > 0x7f) return `the non-ASCII character "${c}"`;
  return `"${c}" (allowed: ASCII letters, digits, "_", "-", ".")`;
}
