/**
 * Which failures of `ostree` are answers rather than errors. The CLI has one exit code (1) for
 * everything, so the message is the only signal; the patterns are the 2022.7 messages, recorded in
 * test/unit/ostree/parse.test.ts. The wrapper forces `LC_ALL=C.UTF-8`, so they are never translated.
 */

export type OstreeFailure =
  /** `rev-parse REF`: no such ref (or REF is a directory of refs, i.e. only a prefix). */
  | 'no-such-ref'
  /** `rev-parse C^`: C is a root commit. */
  | 'no-parent'
  /** `show --print-metadata-key=K C`: C has no key K. */
  | 'no-such-metadata-key'
  /** `show`, `log`, `rev-parse C^`: the commit object is not in the repository. */
  | 'no-such-commit'
  | 'other';

const PATTERNS: ReadonlyArray<readonly [RegExp, OstreeFailure]> = [
  [/^error: Refspec '.*' not found$/m, 'no-such-ref'],
  [/^error: Couldn't open ref '.*': Is a directory$/m, 'no-such-ref'],
  [/^error: Commit [0-9a-f]{64} has no parent$/m, 'no-parent'],
  [/^error: No such metadata key '.*'$/m, 'no-such-metadata-key'],
  [/^error: No such metadata object [0-9a-f]{64}\.commit$/m, 'no-such-commit'],
  // Plain `ostree show C` tries every object type and reports the last one it looked for.
  [/^error: Couldn't find file object '[0-9a-f]{64}'$/m, 'no-such-commit'],
];

/** Classifies the stderr of a failed `ostree` command. */
export function classifyFailure(stderr: string): OstreeFailure {
  for (const [pattern, failure] of PATTERNS) if (pattern.test(stderr)) return failure;
  return 'other';
}
