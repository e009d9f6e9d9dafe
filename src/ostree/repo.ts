/**
 * A thin typed wrapper over the `ostree` CLI for ONE repository. Each method validates its refs and
 * checksums first (nothing runs on a bad value), builds an argv array, runs it through the injected
 * {@link Run}, and parses the output. A non-zero exit is `CommandFailedError`, except where the
 * failure is an answer (no such ref, no parent, no such key, missing commit).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CommandFailedError, RefConflictError } from '../errors.ts';
import { commitArgs, type CommitOptions } from './commit.ts';
import { CommitNotFoundError, InvalidOstreeArgumentError, OstreeParseError } from './errors.ts';
import { parseChecksum, parseGVariantString, parseLog, parseRefs, parseStaticDeltas, type LogEntry, type StaticDelta } from './parse.ts';
import { GPG_KEY_ID, parseGpgSignatures, type CommitSignature } from './gpg.ts';
import { execRun, type Run, type RunResult } from './run.ts';
import { classifyFailure } from './stderr.ts';
import { assertChecksum, assertMetadataKey, assertRef, assertRev, assertText, isChecksum } from './validate.ts';

export const REPO_MODES = ['archive', 'bare-user', 'bare'] as const;
export type RepoMode = (typeof REPO_MODES)[number];

/** Summary signing: `gpgKey` null or absent leaves the summary unsigned. */
export type SummaryOptions = { gpgKey?: string | null; gpgHome?: string };

/** How far `isAncestor` looks back from the descendant. */
export const MAX_ANCESTRY_DEPTH = 10_000;

const REF_BINDING_KEY = 'ostree.ref-binding';

type Outcome = { argv: readonly string[]; result: RunResult };

export class OstreeRepo {
  /** Absolute path of the repository (the directory holding `config`). */
  readonly path: string;
  readonly #run: Run;

  constructor(path: string, run: Run = execRun) {
    assertText('repository path', path);
    if (path === '') throw new InvalidOstreeArgumentError('repository path', 'empty');
    this.path = resolve(path);
    this.#run = run;
  }

  /** True when the repository exists (`config` is present). */
  exists(): boolean {
    return existsSync(join(this.path, 'config'));
  }

  /**
   * Creates the repository unless it exists; true when it created it. An existing repository is
   * left alone whatever its mode. The parent directory must exist (ostree does not create it).
   */
  async init(mode: RepoMode = 'archive'): Promise<boolean> {
    if (!REPO_MODES.includes(mode)) throw new InvalidOstreeArgumentError('mode', `${JSON.stringify(mode)} is not one of ${REPO_MODES.join(', ')}`);
    if (this.exists()) return false;
    await this.#must(['init'], [`--mode=${mode}`]);
    return true;
  }

  /** Local refs (branches), sorted; remote-tracking refs (`remote:ref`) are left out. */
  async refs(): Promise<string[]> {
    return parseRefs(await this.#must(['refs'], [])).filter((ref) => !ref.includes(':'));
  }

  /**
   * True when `ref` is a local ref. `ostree refs --list PREFIX` lists the refs under a prefix, so
   * the ref exists exactly when it is listed itself.
   */
  async hasRef(ref: string): Promise<boolean> {
    assertRef(ref);
    return parseRefs(await this.#must(['refs'], ['--list', ref])).includes(ref);
  }

  /**
   * The commit `ref` points to, or null when there is no such local ref. Checked with
   * {@link hasRef} first because for a name that is not a local ref `ostree rev-parse` falls back to
   * remote-tracking refs (`origin:REF`), which are not ours to promote from.
   */
  async revParse(ref: string): Promise<string | null> {
    assertRef(ref);
    if (!(await this.hasRef(ref))) return null;
    const { argv, result } = await this.#try(['rev-parse'], [ref]);
    if (result.exitCode === 0) return parseChecksum(result.stdout);
    if (classifyFailure(result.stderr) === 'no-such-ref') return null; // deleted since hasRef
    throw commandFailed(argv, result);
  }

  /**
   * Points `ref` at `checksum`, creating or moving it (any direction). Uses
   * `ostree refs --force --create`: `ostree reset` refuses a ref that does not exist yet (and, in
   * 2022.7, does not check ancestry either). Neither command checks the commit exists, so this does.
   */
  async setRef(ref: string, checksum: string): Promise<void> {
    assertRef(ref);
    assertChecksum(checksum);
    if (!(await this.hasCommit(checksum))) throw new CommitNotFoundError(checksum);
    await this.#writeRef(ref, checksum);
  }

  /**
   * Moves `ref` from `expected` to `next` (null: absent), or throws `RefConflictError` with what it
   * found and changes nothing. ostree has no atomic compare-and-swap: callers serialize moves per
   * ref, and this narrows the window to the two commands (read, then write).
   */
  async compareAndSetRef(ref: string, expected: string | null, next: string | null): Promise<void> {
    assertRef(ref);
    if (expected !== null) assertChecksum(expected);
    if (next !== null) {
      assertChecksum(next);
      if (!(await this.hasCommit(next))) throw new CommitNotFoundError(next);
    }
    const actual = await this.revParse(ref);
    if (actual !== expected) throw new RefConflictError(ref, expected, actual);
    if (next === null) await this.deleteRef(ref);
    else await this.#writeRef(ref, next);
  }

  /**
   * Deletes the local ref; false when there was none. `ostree refs --delete X` deletes every ref
   * under the prefix X (`fedora` would take `fedora/26/...` with it), so it only runs when X is a ref.
   */
  async deleteRef(ref: string): Promise<boolean> {
    assertRef(ref);
    if (!(await this.hasRef(ref))) return false;
    await this.#must(['refs'], ['--delete', ref]);
    return true;
  }

  /** Writes a commit and returns its checksum; see {@link CommitOptions}. */
  async commit(opts: CommitOptions): Promise<string> {
    const args = commitArgs(opts);
    return parseChecksum(await this.#must(['commit'], args));
  }

  /** True when the commit object is in the repository. */
  async hasCommit(checksum: string): Promise<boolean> {
    assertChecksum(checksum);
    return (await this.#show(checksum)) !== null;
  }

  /** The commit's header, subject and body; `CommitNotFoundError` when it is not in the repository. */
  async show(checksum: string): Promise<LogEntry> {
    assertChecksum(checksum);
    const entry = await this.#show(checksum);
    if (entry === null) throw new CommitNotFoundError(checksum);
    return entry;
  }

  /** The history from `rev` (a ref or checksum), newest first; [] when `rev` is a ref that does not exist. */
  async log(rev: string): Promise<LogEntry[]> {
    assertRev(rev);
    const commit = isChecksum(rev) ? rev : await this.revParse(rev);
    if (commit === null) return [];
    return parseLog(await this.#must(['log'], [commit], commit));
  }

  /** The parent's checksum, or null for a root commit. */
  async parentOf(checksum: string): Promise<string | null> {
    assertChecksum(checksum);
    const { argv, result } = await this.#try(['rev-parse'], [`${checksum}^`]);
    if (result.exitCode === 0) return parseChecksum(result.stdout);
    if (classifyFailure(result.stderr) === 'no-parent') return null;
    throw failed(argv, result, checksum);
  }

  /**
   * True when `ancestor` is `descendant` or among its first {@link MAX_ANCESTRY_DEPTH} ancestors.
   * One `ostree log` walks the parents (rather than one `rev-parse C^` process per step). Where the
   * history is cut short (a partial pull), the last known parent checksum still counts.
   */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    assertChecksum(ancestor);
    assertChecksum(descendant);
    if (ancestor === descendant) return true;
    const history = (await this.log(descendant)).slice(0, MAX_ANCESTRY_DEPTH);
    return history.some((entry) => entry.checksum === ancestor || entry.parent === ancestor);
  }

  /** A string or string-array metadata value of the commit, or null when it has no such key. */
  async metadata(checksum: string, key: string): Promise<string | string[] | null> {
    assertChecksum(checksum);
    assertMetadataKey(key);
    const { argv, result } = await this.#try(['show'], [`--print-metadata-key=${key}`, checksum]);
    if (result.exitCode === 0) return parseGVariantString(result.stdout);
    if (classifyFailure(result.stderr) === 'no-such-metadata-key') return null;
    throw failed(argv, result, checksum);
  }

  /**
   * The refs the commit is bound to (`ostree.ref-binding`), without duplicates (ostree writes the
   * branch twice when it is also a `--bind-ref`); [] when the key is absent or empty.
   */
  async refBindings(checksum: string): Promise<string[]> {
    const value = await this.metadata(checksum, REF_BINDING_KEY);
    if (value === null) return [];
    if (typeof value === 'string') throw new OstreeParseError(`a string array for ${REF_BINDING_KEY}`, value);
    return [...new Set(value)];
  }

  /**
   * True when the two commits have identical content: same `ContentChecksum` (root dirtree and
   * dirmeta). Subject, metadata, parent and timestamp do not count. Not `ostree diff`: it ignores
   * the root directory's own metadata (a `chmod 700` of the root diffs as nothing).
   */
  async sameTree(a: string, b: string): Promise<boolean> {
    assertChecksum(a);
    assertChecksum(b);
    const [left, right] = await Promise.all([this.show(a), this.show(b)]);
    return left.contentChecksum === right.contentChecksum;
  }

  /**
   * Regenerates the summary (refs and static-delta index clients fetch); with `gpgKey`, signs it
   * (`summary.sig`) using `gpgHome` or gpg's default home. Run it after moving refs or adding deltas.
   */
  async updateSummary(opts: SummaryOptions = {}): Promise<void> {
    const args = ['--update'];
    if (opts.gpgKey !== undefined && opts.gpgKey !== null) {
      assertText('gpgKey', opts.gpgKey);
      if (opts.gpgKey === '') throw new InvalidOstreeArgumentError('gpgKey', 'empty (use null for an unsigned summary)');
      args.push(`--gpg-sign=${opts.gpgKey}`);
      if (opts.gpgHome !== undefined) {
        assertText('gpgHome', opts.gpgHome);
        args.push(`--gpg-homedir=${resolve(opts.gpgHome)}`);
      }
    }
    await this.#must(['summary'], args);
  }

  /**
   * Generates the static delta `from` → `to` (`from: null`: from scratch). `--empty` is explicit
   * because without `--from` ostree deltas from the parent of `to`, not from nothing.
   */
  async generateStaticDelta(from: string | null, to: string): Promise<StaticDelta> {
    if (from !== null) assertChecksum(from);
    assertChecksum(to);
    await this.#must(['static-delta', 'generate'], [from === null ? '--empty' : `--from=${from}`, `--to=${to}`]);
    return { from, to };
  }

  /**
   * Copies the commit `checksum` and the objects of its tree from the repository at `source` into
   * this one (`ostree pull-local --untrusted`: every object's checksum is verified, since another
   * system wrote `source`). Only that commit: its history stays in `source`, as with a partial
   * pull. No ref is created. `CommitNotFoundError` when `source` does not hold the commit.
   */
  async pullLocal(source: OstreeRepo, checksum: string): Promise<void> {
    assertChecksum(checksum);
    if (!(await source.hasCommit(checksum))) throw new CommitNotFoundError(checksum, source.path);
    await this.#must(['pull-local'], ['--untrusted', source.path, checksum], checksum);
  }

  /**
   * Signs the commit with each of `keyIds` (`ostree gpg-sign`), the secret keys read from the GnuPG
   * home `gpgHome`. ostree adds a signature each time, even one the commit carries already.
   */
  async gpgSign(checksum: string, keyIds: readonly string[], gpgHome: string): Promise<void> {
    assertChecksum(checksum);
    if (keyIds.length === 0) throw new InvalidOstreeArgumentError('keyIds', 'give at least one key to sign with');
    for (const key of keyIds) if (!GPG_KEY_ID.test(key)) throw new InvalidOstreeArgumentError('key id', `${JSON.stringify(key)} is not 16 or 40 hex digits`);
    assertText('gpgHome', gpgHome);
    await this.#must(['gpg-sign'], [`--gpg-homedir=${resolve(gpgHome)}`, checksum, ...keyIds], checksum);
  }

  /**
   * The commit's GPG signatures, each checked against the public keyrings (`*.gpg` files) in
   * `keyringDir` and nothing else: ostree also consults a global keyring directory
   * (`/usr/share/ostree/trusted.gpg.d`), which `OSTREE_GPG_HOME` points at the same directory here.
   * [] when the commit carries none. `CommitNotFoundError` when it is not in the repository.
   */
  async gpgSignatures(checksum: string, keyringDir: string): Promise<CommitSignature[]> {
    assertChecksum(checksum);
    assertText('keyringDir', keyringDir);
    const dir = resolve(keyringDir);
    // `env` sets the variable for ostree alone: no shell, and the daemon's environment stays as it is.
    const argv = ['env', `OSTREE_GPG_HOME=${dir}`, 'ostree', 'show', `--repo=${this.path}`, `--gpg-homedir=${dir}`, checksum];
    const result = await this.#run(argv);
    if (result.exitCode !== 0 || result.signal !== undefined) throw failed(argv, result, checksum);
    return parseGpgSignatures(result.stdout);
  }

  /** The static deltas in the repository, sorted by `to` then `from`. */
  async listStaticDeltas(): Promise<StaticDelta[]> {
    return parseStaticDeltas(await this.#must(['static-delta', 'list'], []));
  }

  /**
   * Writes the commit's tree as a tar file at `output` (`ostree export`): owners, modes and
   * extended attributes as committed; file times are the commit's, so the same commit makes the
   * same tar. `CommitNotFoundError` when the commit is not in the repository.
   */
  async exportTar(checksum: string, output: string): Promise<void> {
    assertChecksum(checksum);
    assertText('output', output);
    if (!(await this.hasCommit(checksum))) throw new CommitNotFoundError(checksum, this.path);
    await this.#must(['export'], [`--output=${resolve(output)}`, checksum], checksum);
  }

  async #writeRef(ref: string, checksum: string): Promise<void> {
    await this.#must(['refs'], ['--force', `--create=${ref}`, checksum]);
  }

  /** `ostree show C`, or null when C is not a commit in the repository. */
  async #show(checksum: string): Promise<LogEntry | null> {
    const { argv, result } = await this.#try(['show'], [checksum]);
    if (result.exitCode === 0) {
      // `show` accepts any object: for a dirtree checksum it prints `dirtree C`, no commit entry.
      const entry = parseLog(result.stdout)[0];
      return entry?.checksum === checksum ? entry : null;
    }
    if (classifyFailure(result.stderr) === 'no-such-commit') return null;
    throw commandFailed(argv, result);
  }

  /** Runs `ostree VERB... --repo=PATH ARGS...` and returns the outcome whatever the exit code. */
  async #try(verb: readonly string[], args: readonly string[]): Promise<Outcome> {
    const argv = ['ostree', ...verb, `--repo=${this.path}`, ...args];
    return { argv, result: await this.#run(argv) };
  }

  /** Like #try, but a non-zero exit throws; returns stdout. */
  async #must(verb: readonly string[], args: readonly string[], commit?: string): Promise<string> {
    const { argv, result } = await this.#try(verb, args);
    if (result.exitCode !== 0 || result.signal !== undefined) throw failed(argv, result, commit);
    return result.stdout;
  }
}

/** Opens (does not create) the repository at `path`; `run` is injectable for tests. */
export function openRepo(path: string, run: Run = execRun): OstreeRepo {
  return new OstreeRepo(path, run);
}

function commandFailed(argv: readonly string[], result: RunResult): CommandFailedError {
  const signal = result.signal ?? null;
  return new CommandFailedError({ argv, exitCode: signal === null ? result.exitCode : null, signal, stderr: result.stderr });
}

/** A failure about `commit` that says the commit is missing is `CommitNotFoundError`. */
function failed(argv: readonly string[], result: RunResult, commit: string | undefined): Error {
  if (commit !== undefined && result.signal === undefined && classifyFailure(result.stderr) === 'no-such-commit') return new CommitNotFoundError(commit);
  return commandFailed(argv, result);
}
