/**
 * OstreeRepo against the real `ostree` CLI, one fresh repository per test in a temporary directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandFailedError, InvalidRefError, RefConflictError } from '../../../src/errors.ts';
import { CommitNotFoundError, InvalidChecksumError, OstreeRepo, execRun, openRepo } from '../../../src/ostree/index.ts';
import type { Run } from '../../../src/ostree/index.ts';

const BRANCH = 'fedora/26/x86_64/atomic-host';
const MISSING = '0'.repeat(64);
/** The signed-summary test needs gpg; it is skipped (and named by the reporter) where gpg is absent. */
const HAS_GPG = spawnSync('gpg', ['--version']).status === 0 && spawnSync('gpgconf', ['--version']).status === 0;

let tmp: string;
let repo: OstreeRepo;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-ostree-'));
  repo = openRepo(join(tmp, 'repo'));
  await repo.init();
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A directory under the test's temp dir holding `files` (path -> content). */
function tree(name: string, files: Record<string, string>): string {
  const dir = join(tmp, 'trees', name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Commits a one-file tree on `branch` (or orphan) and returns the checksum. */
async function commitFile(content: string, branch: string | null = BRANCH, extra: Partial<Parameters<OstreeRepo['commit']>[0]> = {}): Promise<string> {
  const dir = tree(`t-${content}`, { 'usr/lib/os-release': content });
  return repo.commit({ tree: { dir }, ...(branch === null ? { orphan: true } : { branch }), subject: `commit ${content}`, ...extra });
}

/** A Run that records argv and pretends success: proves which commands were (not) run. */
function recordingRun(): { run: Run; calls: string[][] } {
  const calls: string[][] = [];
  return { calls, run: async (argv) => (calls.push([...argv]), { exitCode: 0, stdout: '', stderr: '' }) };
}

function ostree(...args: string[]): string {
  return execFileSync('ostree', args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
}

describe('creating a repository', () => {
  it('init twice is harmless: the second call does nothing and the repository keeps its commits', async () => {
    const fresh = openRepo(join(tmp, 'fresh'));
    expect(fresh.exists()).toBe(false);
    expect(await fresh.init()).toBe(true);
    expect(fresh.exists()).toBe(true);
    const before = await fresh.commit({ tree: { dir: tree('a', { f: 'a' }) }, branch: BRANCH, subject: 'a' });
    expect(await fresh.init()).toBe(false);
    expect(await fresh.revParse(BRANCH)).toBe(before);
  });

  it('init creates the mode asked for', async () => {
    const bare = openRepo(join(tmp, 'bare-user'));
    await bare.init('bare-user');
    expect(readFileSync(join(bare.path, 'config'), 'utf8')).toMatch(/^mode=bare-user$/m);
  });
});

describe('refs', () => {
  it('commit of a directory on a branch returns the checksum that revParse then gives', async () => {
    const checksum = await commitFile('one');
    expect(checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await repo.revParse(BRANCH)).toBe(checksum);
    expect(await repo.refs()).toEqual([BRANCH]);
  });

  it('revParse of a missing ref is null, also for a prefix of existing refs (a directory in refs/heads)', async () => {
    await commitFile('one');
    expect(await repo.revParse('fedora/27')).toBeNull();
    expect(await repo.revParse('fedora/26')).toBeNull();
    expect(await repo.hasRef('fedora/26')).toBe(false);
    expect(await repo.hasRef(BRANCH)).toBe(true);
  });

  it('revParse ignores a remote-tracking ref of the same name, which ostree rev-parse falls back to', async () => {
    const upstream = await commitFile('one');
    const mirror = openRepo(join(tmp, 'mirror'));
    await mirror.init();
    ostree('remote', 'add', `--repo=${mirror.path}`, '--no-gpg-verify', 'origin', `file://${repo.path}`);
    ostree('pull', `--repo=${mirror.path}`, 'origin', BRANCH);
    expect(ostree('rev-parse', `--repo=${mirror.path}`, BRANCH).trim()).toBe(upstream);
    expect(await mirror.revParse(BRANCH)).toBeNull();
    expect(await mirror.refs()).toEqual([]);
  });

  it('setRef creates a ref and moves it in either direction', async () => {
    const first = await commitFile('one');
    const second = await commitFile('two');
    await repo.setRef('fedora/stable', first);
    expect(await repo.revParse('fedora/stable')).toBe(first);
    await repo.setRef('fedora/stable', second);
    expect(await repo.revParse('fedora/stable')).toBe(second);
    await repo.setRef('fedora/stable', first);
    expect(await repo.revParse('fedora/stable')).toBe(first);
    expect(await repo.refs()).toEqual([BRANCH, 'fedora/stable']);
  });

  it('setRef refuses a commit that is not in the repository (ostree refs --create would accept it)', async () => {
    await expect(repo.setRef('fedora/stable', MISSING)).rejects.toBeInstanceOf(CommitNotFoundError);
    expect(await repo.revParse('fedora/stable')).toBeNull();
  });

  it('compareAndSetRef moves the ref when it points where expected', async () => {
    const first = await commitFile('one');
    const second = await commitFile('two');
    await repo.compareAndSetRef(BRANCH, second, first);
    expect(await repo.revParse(BRANCH)).toBe(first);
  });

  it('compareAndSetRef refuses when the ref moved, with expected and actual, and leaves it unchanged', async () => {
    const first = await commitFile('one');
    const second = await commitFile('two');
    const conflict = await repo.compareAndSetRef(BRANCH, first, first).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(RefConflictError);
    expect(conflict).toMatchObject({ ref: BRANCH, expected: first, actual: second });
    expect(await repo.revParse(BRANCH)).toBe(second);
  });

  it('compareAndSetRef refuses a target commit that is not in the repository before reading the ref', async () => {
    const first = await commitFile('one');
    await expect(repo.compareAndSetRef(BRANCH, first, MISSING)).rejects.toBeInstanceOf(CommitNotFoundError);
    expect(await repo.revParse(BRANCH)).toBe(first);
  });

  it('compareAndSetRef with expected null creates the ref, refuses if it exists, and next null deletes it', async () => {
    const first = await commitFile('one');
    await repo.compareAndSetRef('fedora/stable', null, first);
    expect(await repo.revParse('fedora/stable')).toBe(first);
    await expect(repo.compareAndSetRef('fedora/stable', null, first)).rejects.toMatchObject({ expected: null, actual: first });
    await repo.compareAndSetRef('fedora/stable', first, null);
    expect(await repo.revParse('fedora/stable')).toBeNull();
  });

  it('deleteRef deletes that ref only, never the refs under a prefix of the same name', async () => {
    const first = await commitFile('one');
    await repo.setRef('fedora/stable', first);
    expect(await repo.deleteRef('fedora')).toBe(false);
    expect(await repo.refs()).toEqual([BRANCH, 'fedora/stable']);
    expect(await repo.deleteRef('fedora/stable')).toBe(true);
    expect(await repo.deleteRef('fedora/stable')).toBe(false);
    expect(await repo.refs()).toEqual([BRANCH]);
  });
});

describe('history', () => {
  it("a second commit's parent is the first, whose parent is null", async () => {
    const first = await commitFile('one');
    const second = await commitFile('two');
    expect(await repo.parentOf(second)).toBe(first);
    expect(await repo.parentOf(first)).toBeNull();
    await expect(repo.parentOf(MISSING)).rejects.toBeInstanceOf(CommitNotFoundError);
  });

  it('parent none starts a new history on an existing branch', async () => {
    await commitFile('one');
    const root = await commitFile('two', BRANCH, { parent: 'none' });
    expect(await repo.parentOf(root)).toBeNull();
  });

  it('isAncestor is true for an ancestor and for the commit itself, false otherwise', async () => {
    const first = await commitFile('one');
    const second = await commitFile('two');
    const third = await commitFile('three');
    const unrelated = await commitFile('other', null);
    expect(await repo.isAncestor(first, third)).toBe(true);
    expect(await repo.isAncestor(second, third)).toBe(true);
    expect(await repo.isAncestor(third, third)).toBe(true);
    expect(await repo.isAncestor(third, first)).toBe(false);
    expect(await repo.isAncestor(unrelated, third)).toBe(false);
    await expect(repo.isAncestor(first, MISSING)).rejects.toBeInstanceOf(CommitNotFoundError);
  });

  it('isAncestor still sees the last parent when older history was not fetched', async () => {
    const first = await commitFile('one');
    const second = await commitFile('two');
    const third = await commitFile('three');
    rmSync(join(repo.path, 'objects', second.slice(0, 2), `${second.slice(2)}.commit`));
    expect(await repo.isAncestor(second, third)).toBe(true);
    expect(await repo.isAncestor(first, third)).toBe(false);
  });

  it('log gives the history newest first with timestamp, version and subject; [] for a missing ref', async () => {
    const first = await commitFile('one', BRANCH, { timestamp: '2026-11-26T10:00:00+02:00', metadata: { version: '26.1' } });
    const second = await commitFile('two', BRANCH, { body: 'why\n\nbecause' });
    const log = await repo.log(BRANCH);
    expect(log.map((e) => e.checksum)).toEqual([second, first]);
    expect(log[1]).toMatchObject({ parent: null, date: '2026-11-26T08:00:00Z', version: '26.1', subject: 'commit one', body: '' });
    expect(log[0]).toMatchObject({ parent: first, version: null, subject: 'commit two', body: 'why\n\nbecause' });
    expect(await repo.log(second)).toEqual(log);
    expect(await repo.log('fedora/27')).toEqual([]);
  });
});

describe('commit metadata and content', () => {
  it('metadata: a version string round-trips with quotes, backslashes and non-ASCII; an absent key is null', async () => {
    const version = `26.20261126.0 it's "q" \\ héllo ✓`;
    const checksum = await commitFile('one', BRANCH, { metadata: { version, plain: '26.20261126.0' } });
    expect(await repo.metadata(checksum, 'version')).toBe(version);
    expect(await repo.metadata(checksum, 'plain')).toBe('26.20261126.0');
    expect(await repo.metadata(checksum, 'no.such.key')).toBeNull();
    await expect(repo.metadata(MISSING, 'version')).rejects.toBeInstanceOf(CommitNotFoundError);
  });

  it('a commit with bindRefs reports them in refBindings (its branch first, once); an orphan without gives []', async () => {
    const bound = await commitFile('one', BRANCH, { bindRefs: ['fedora/stable', BRANCH] });
    expect(await repo.refBindings(bound)).toEqual([BRANCH, 'fedora/stable']);
    const orphan = await commitFile('two', null);
    expect(await repo.refBindings(orphan)).toEqual([]);
    const boundOrphan = await commitFile('three', null, { bindRefs: ['fedora/stable'] });
    expect(await repo.refBindings(boundOrphan)).toEqual(['fedora/stable']);
    // ostree binds a commit to the branch it is made on even without --bind-ref.
    expect(await repo.refBindings(await commitFile('four'))).toEqual([BRANCH]);
  });

  it('a commit with --tree=ref= of another commit has the same tree; a commit of another directory does not', async () => {
    const source = await commitFile('one', BRANCH, { metadata: { version: '1' } });
    const promoted = await repo.commit({ tree: { commit: source }, branch: 'fedora/stable', subject: 'promote', metadata: { version: '2' }, bindRefs: ['fedora/stable'] });
    const byRef = await repo.commit({ tree: { ref: BRANCH }, orphan: true, subject: 'by ref' });
    const other = await commitFile('two');
    expect(promoted).not.toBe(source);
    expect(await repo.sameTree(source, promoted)).toBe(true);
    expect(await repo.sameTree(source, byRef)).toBe(true);
    expect(await repo.sameTree(source, other)).toBe(false);
    await expect(repo.sameTree(source, MISSING)).rejects.toBeInstanceOf(CommitNotFoundError);
  });

  it('sameTree counts the root directory mode, which ostree diff ignores', async () => {
    const open = tree('open', { f: 'x' });
    const closed = tree('closed', { f: 'x' });
    chmodSync(open, 0o755);
    chmodSync(closed, 0o700);
    const a = await repo.commit({ tree: { dir: open }, orphan: true, subject: 'a' });
    const b = await repo.commit({ tree: { dir: closed }, orphan: true, subject: 'b' });
    expect(ostree('diff', `--repo=${repo.path}`, a, b)).toBe('');
    expect(await repo.sameTree(a, b)).toBe(false);
  });

  it('show and hasCommit tell a commit from a missing one and from a non-commit object', async () => {
    const checksum = await commitFile('one');
    expect((await repo.show(checksum)).checksum).toBe(checksum);
    expect(await repo.hasCommit(checksum)).toBe(true);
    expect(await repo.hasCommit(MISSING)).toBe(false);
    await expect(repo.show(MISSING)).rejects.toBeInstanceOf(CommitNotFoundError);
    // `ostree show` of a dirtree object succeeds and prints `dirtree C`: still not a commit.
    const dirtreeFile = readdirSync(join(repo.path, 'objects'), { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.dirtree'))!;
    const dirtree = dirtreeFile.replace(/\.dirtree$/, '').replace('/', '');
    expect(ostree('show', `--repo=${repo.path}`, dirtree)).toBe(`dirtree ${dirtree}\n`);
    expect(await repo.hasCommit(dirtree)).toBe(false);
  });
});

describe('publishing', () => {
  it('updateSummary creates the summary file', async () => {
    await commitFile('one');
    expect(existsSync(join(repo.path, 'summary'))).toBe(false);
    await repo.updateSummary();
    expect(existsSync(join(repo.path, 'summary'))).toBe(true);
    expect(existsSync(join(repo.path, 'summary.sig'))).toBe(false);
  });

  it.skipIf(!HAS_GPG)(`updateSummary with a GPG key also writes summary.sig${HAS_GPG ? '' : ' (skipped: no gpg on this machine)'}`, async () => {
    const home = join(tmp, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    const gpg = (...args: string[]) => execFileSync('gpg', ['--homedir', home, '--batch', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      gpg('--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'relengd test <test@example.invalid>', 'ed25519', 'sign', 'never');
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--list-keys', '--with-colons'))![1]!;
      await commitFile('one');
      await repo.updateSummary({ gpgKey: fingerprint, gpgHome: home });
      expect(existsSync(join(repo.path, 'summary.sig'))).toBe(true);
      await expect(repo.updateSummary({ gpgKey: 'DEADBEEF', gpgHome: home })).rejects.toBeInstanceOf(CommandFailedError);
    } finally {
      // Stop the gpg-agent this test's signing started for its home directory.
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    }
  });

  it('a static delta from A to B, and one from scratch to B, are listed', async () => {
    const a = await commitFile('one');
    const b = await commitFile('two');
    expect(await repo.listStaticDeltas()).toEqual([]);
    expect(await repo.generateStaticDelta(a, b)).toEqual({ from: a, to: b });
    await repo.generateStaticDelta(null, b);
    expect(await repo.listStaticDeltas()).toEqual([
      { from: null, to: b },
      { from: a, to: b },
    ]);
  });
});

describe('validation before any command runs', () => {
  const C = 'b8dff582d16c2535392dd925df5fba21a808789e01075b6df087012417767c89';

  it.each(['a//b', '../etc', 'x;rm -rf /', '-rf', 'origin:ref', 'cafe', ''])('refuses the ref %j with InvalidRefError and runs nothing', async (bad) => {
    const { run, calls } = recordingRun();
    const fake = new OstreeRepo('/nonexistent/repo', run);
    const attempts: Array<() => Promise<unknown>> = [
      () => fake.revParse(bad),
      () => fake.hasRef(bad),
      () => fake.setRef(bad, C),
      () => fake.compareAndSetRef(bad, null, C),
      () => fake.deleteRef(bad),
      () => fake.log(bad),
      () => fake.commit({ tree: { dir: '/t' }, branch: bad, subject: 's' }),
      () => fake.commit({ tree: { ref: bad }, orphan: true, subject: 's' }),
      () => fake.commit({ tree: { dir: '/t' }, orphan: true, subject: 's', bindRefs: [bad] }),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(InvalidRefError);
    expect(calls).toEqual([]);
  });

  it.each(['', 'abc', C.toUpperCase(), `${C}^`, `${C}0`, 'HEAD'])('refuses the checksum %j with InvalidChecksumError and runs nothing', async (bad) => {
    const { run, calls } = recordingRun();
    const fake = new OstreeRepo('/nonexistent/repo', run);
    const attempts: Array<() => Promise<unknown>> = [
      () => fake.setRef('x', bad),
      () => fake.compareAndSetRef('x', bad, C),
      () => fake.compareAndSetRef('x', C, bad),
      () => fake.parentOf(bad),
      () => fake.isAncestor(bad, C),
      () => fake.isAncestor(C, bad),
      () => fake.metadata(bad, 'version'),
      () => fake.refBindings(bad),
      () => fake.sameTree(C, bad),
      () => fake.show(bad),
      () => fake.hasCommit(bad),
      () => fake.generateStaticDelta(bad, C),
      () => fake.generateStaticDelta(null, bad),
      () => fake.commit({ tree: { commit: bad }, orphan: true, subject: 's' }),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(InvalidChecksumError);
    expect(calls).toEqual([]);
  });

  it('runs ostree with --repo after the verb and each value as one argv element', async () => {
    const { run, calls } = recordingRun();
    const fake = new OstreeRepo('/srv/ostree/26', run);
    await fake.generateStaticDelta(null, C);
    await fake.updateSummary({ gpgKey: 'ABCD1234', gpgHome: '/etc/relengd/gnupg' });
    expect(calls).toEqual([
      ['ostree', 'static-delta', 'generate', '--repo=/srv/ostree/26', '--empty', `--to=${C}`],
      ['ostree', 'summary', '--repo=/srv/ostree/26', '--update', '--gpg-sign=ABCD1234', '--gpg-homedir=/etc/relengd/gnupg'],
    ]);
  });
});

describe('failures', () => {
  /** A Run answering each command by its verb: proves which stderr is an answer and which an error. */
  function scriptedRun(answers: Record<string, { exitCode: number; stdout?: string; stderr?: string }>): Run {
    return async (argv) => {
      const answer = answers[argv[1]!] ?? { exitCode: 0 };
      return { exitCode: answer.exitCode, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
    };
  }

  it('revParse is null when the ref is deleted between listing and rev-parse, and throws on other rev-parse errors', async () => {
    const refs = { exitCode: 0, stdout: `${BRANCH}\n` };
    const gone = new OstreeRepo('/r', scriptedRun({ refs, 'rev-parse': { exitCode: 1, stderr: `error: Refspec '${BRANCH}' not found\n` } }));
    expect(await gone.revParse(BRANCH)).toBeNull();
    const broken = new OstreeRepo('/r', scriptedRun({ refs, 'rev-parse': { exitCode: 1, stderr: 'error: Permission denied\n' } }));
    await expect(broken.revParse(BRANCH)).rejects.toBeInstanceOf(CommandFailedError);
  });

  it('metadata and parentOf throw CommandFailedError for failures that are not answers', async () => {
    const C = 'b8dff582d16c2535392dd925df5fba21a808789e01075b6df087012417767c89';
    const broken = new OstreeRepo('/r', scriptedRun({ show: { exitCode: 1, stderr: 'error: Permission denied\n' }, 'rev-parse': { exitCode: 1, stderr: 'error: Permission denied\n' } }));
    await expect(broken.metadata(C, 'version')).rejects.toBeInstanceOf(CommandFailedError);
    await expect(broken.parentOf(C)).rejects.toBeInstanceOf(CommandFailedError);
  });

  it('a failing command surfaces CommandFailedError with the argv, exit code and stderr', async () => {
    const missing = join(tmp, 'no-such-dir');
    const error = await repo.commit({ tree: { dir: missing }, branch: BRANCH, subject: 's' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    const failed = error as CommandFailedError;
    expect(failed.argv).toEqual(['ostree', 'commit', `--repo=${repo.path}`, `--tree=dir=${missing}`, `--branch=${BRANCH}`, '--subject=s']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/^error: /);
  });

  it('a repository that does not exist fails every command with CommandFailedError', async () => {
    const absent = openRepo(join(tmp, 'absent'), execRun);
    await expect(absent.refs()).rejects.toBeInstanceOf(CommandFailedError);
    await expect(absent.revParse(BRANCH)).rejects.toBeInstanceOf(CommandFailedError);
  });
});
