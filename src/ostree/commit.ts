/**
 * The options of `ostree commit` relengd uses, and their translation to argv. Pure: every value is
 * validated here, before the repository runs anything.
 */
import { resolve } from 'node:path';
import { InvalidOstreeArgumentError } from './errors.ts';
import { assertChecksum, assertMetadataKey, assertRef, assertText, assertTimestamp } from './validate.ts';

/**
 * What the commit contains: a directory, or the tree of an existing commit (by ref or checksum).
 * With `ref`/`commit` (`--tree=ref=`) the new commit has exactly the source's tree — same
 * `ContentChecksum`, see `OstreeRepo.sameTree` — with its own subject, metadata, parent and ref
 * bindings: how a promotion commit re-binds a tree to another ref without changing content.
 */
export type CommitTree = { dir: string } | { ref: string } | { commit: string };

export type CommitOptions = {
  tree: CommitTree;
  /**
   * The ref to move to the new commit (its current commit becomes the parent unless `parent` says
   * otherwise). Note that ostree itself binds the commit to this branch: `ostree.ref-binding` is
   * `[branch, ...bindRefs]`. Exactly one of `branch` and `orphan` is required.
   */
  branch?: string;
  /** Write the commit without moving any ref (ostree writes `ostree.ref-binding` = `bindRefs`, possibly `[]`). */
  orphan?: boolean;
  subject: string;
  body?: string;
  /** Parent checksum, or `'none'` for a root commit even on an existing branch. */
  parent?: string;
  /** Extra refs to bind the commit to (`--bind-ref`): clients refuse it under any other ref. */
  bindRefs?: readonly string[];
  /** String metadata (`--add-metadata-string=K=V`), e.g. `{ version: '26.20261126.0' }`. */
  metadata?: Readonly<Record<string, string>>;
  /** ISO 8601 with a zone (`--timestamp`); default: now. */
  timestamp?: string;
};

/** The arguments after `ostree commit --repo=R`; throws on any invalid option. */
export function commitArgs(opts: CommitOptions): string[] {
  const args = [treeArg(opts.tree)];
  const orphan = opts.orphan === true;
  if ((opts.branch !== undefined) === orphan) {
    throw new InvalidOstreeArgumentError('branch/orphan', 'give exactly one of branch or orphan: true');
  }
  if (opts.branch !== undefined) {
    assertRef(opts.branch);
    args.push(`--branch=${opts.branch}`);
  } else args.push('--orphan');
  assertText('subject', opts.subject);
  args.push(`--subject=${opts.subject}`);
  if (opts.body !== undefined) {
    assertText('body', opts.body);
    args.push(`--body=${opts.body}`);
  }
  if (opts.parent !== undefined) {
    if (opts.parent !== 'none') assertChecksum(opts.parent);
    args.push(`--parent=${opts.parent}`);
  }
  for (const ref of opts.bindRefs ?? []) {
    assertRef(ref);
    args.push(`--bind-ref=${ref}`);
  }
  for (const [key, value] of Object.entries(opts.metadata ?? {})) {
    assertMetadataKey(key);
    assertText(`metadata value of ${key}`, value);
    args.push(`--add-metadata-string=${key}=${value}`);
  }
  if (opts.timestamp !== undefined) {
    assertTimestamp(opts.timestamp);
    args.push(`--timestamp=${opts.timestamp}`);
  }
  return args;
}

function treeArg(tree: CommitTree): string {
  const kinds = (['dir', 'ref', 'commit'] as const).filter((kind) => kind in tree);
  if (kinds.length !== 1) throw new InvalidOstreeArgumentError('tree', 'give exactly one of dir, ref or commit');
  if ('dir' in tree) {
    assertText('tree.dir', tree.dir);
    if (tree.dir === '') throw new InvalidOstreeArgumentError('tree.dir', 'empty');
    return `--tree=dir=${resolve(tree.dir)}`;
  }
  if ('ref' in tree) {
    assertRef(tree.ref);
    return `--tree=ref=${tree.ref}`;
  }
  assertChecksum(tree.commit);
  return `--tree=ref=${tree.commit}`;
}
