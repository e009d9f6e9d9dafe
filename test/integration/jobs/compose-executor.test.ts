/**
 * The compose executor against a real OSTree repository, with the rpm-ostree stand-in making real
 * commits (and moving the ref itself, as `rpm-ostree compose tree` does).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeExecutor, composeFiles } from '../../../src/jobs/executors/compose.ts';
import type { JobOutcome } from '../../../src/jobs/executor.ts';
import type { ComposeJobSpec } from '../../../src/jobs/specs.ts';
import { execRun, openRepo, type OstreeRepo, type Run } from '../../../src/ostree/index.ts';
import { STANDIN_COMPOSE, commandsStarted, executorContext, newWorkdir, node, summaryRefs } from '../../helpers/executor-context.ts';
import { projectRoot } from '../../helpers/process.ts';

const REF = 'fedora/26/x86_64/updates/atomic-host';
const VERSION = '26.20261126.0';
const STANDIN_ARGV = [node, STANDIN_COMPOSE, '--repo={repo}', '--write-commitid-to={commitIdFile}', '--touch-if-changed={changedStamp}', '--add-metadata-string=version={version}', '{treefile}'];

let tmp: string;
let repoPath: string;
let treefile: string;
let repo: OstreeRepo;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-compose-'));
  repoPath = join(tmp, 'repo');
  repo = openRepo(repoPath);
  const configDir = join(tmp, 'config');
  mkdirSync(configDir);
  treefile = join(configDir, 'fedora-atomic-host.json');
  writeFileSync(treefile, JSON.stringify({ ref: REF, repos: ['f26-updates'], packages: ['kernel', 'ostree', 'rpm-ostree', 'systemd'] }));
  writeUpdates(['kernel-4.13.9-200.fc26', 'ostree-2017.12-2.fc26']);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** What Bodhi mashed into the f26-updates repo (the JSON the stand-in reads beside the treefile). */
function writeUpdates(packages: string[]): void {
  writeFileSync(join(tmp, 'config', 'f26-updates.json'), JSON.stringify({ packages }));
}

function spec(overrides: Partial<ComposeJobSpec> = {}): ComposeJobSpec {
  return {
    composeId: `f26-atomic-host-${VERSION}`,
    stream: 'f26-atomic-host-x86_64',
    group: 'f26-atomic-host',
    arch: 'x86_64',
    release: '26',
    repo: repoPath,
    ref: REF,
    treefile,
    version: VERSION,
    argv: STANDIN_ARGV,
    causes: [{ id: 'bodhi-compose-complete-1', topic: 'org.fedoraproject.prod.bodhi.compose.complete' }],
    ...overrides,
  };
}

const executor = composeExecutor({ openRepo: (path) => openRepo(path) });

async function compose(overrides: Partial<ComposeJobSpec> = {}, workdir = newWorkdir(tmp)) {
  const ctx = executorContext({ kind: 'compose', spec: spec(overrides), workdir });
  const outcome = await executor.execute(ctx);
  return { ctx, outcome, workdir };
}

/** The data of the outcome's only event, after checking its topic. */
function only(outcome: JobOutcome, topic: string): Record<string, unknown> {
  expect(outcome.emit.map((e) => e.topic)).toEqual([topic]);
  return outcome.emit[0]!.data as Record<string, unknown>;
}

describe('compose executor', () => {
  it('a first compose moves the stream ref to a new commit, announces it with its version and no parent, and regenerates the summary', async () => {
    const { outcome } = await compose();

    expect(outcome.state).toBe('succeeded');
    const commit = await repo.revParse(REF);
    expect(commit).toMatch(/^[0-9a-f]{64}$/);
    expect(await repo.log(REF)).toHaveLength(1);
    const data = only(outcome, 'relengd.ostree.compose.finished');
    expect(data).toMatchObject({
      composeId: `f26-atomic-host-${VERSION}`,
      stream: 'f26-atomic-host-x86_64',
      ref: REF,
      commit,
      parent: null,
      version: VERSION,
      causes: [{ id: 'bodhi-compose-complete-1', topic: 'org.fedoraproject.prod.bodhi.compose.complete' }],
    });
    expect(await repo.metadata(commit!, 'version')).toBe(VERSION);
    expect(outcome.emit[0]!.subject).toBe(REF);
    expect(outcome.result).toEqual({ commit, parent: null, version: VERSION });
    // The repository did not exist: the executor created it; clients see the new commit in the summary.
    expect(repo.exists()).toBe(true);
    expect(summaryRefs(repoPath)).toEqual({ [REF]: commit });
  });

  it('the version announced is the one the commit carries', async () => {
    // A compose template that stamps its own version (not the requested one): the commit is what ships.
    const { outcome } = await compose({ argv: STANDIN_ARGV.map((a) => a.replace('version={version}', 'version={release}.respin.1')) });

    const data = only(outcome, 'relengd.ostree.compose.finished');
    expect(data.version).toBe('26.respin.1');
    expect(await repo.metadata((await repo.revParse(REF))!, 'version')).toBe('26.respin.1');
  });

  it('the same inputs again give no new commit (commit: null): the ref stays and the job succeeds', async () => {
    const first = await compose();
    const commit = await repo.revParse(REF);

    const { outcome } = await compose({ composeId: 'f26-atomic-host-26.20261126.1', version: '26.20261126.1' });

    expect(first.outcome.state).toBe('succeeded');
    expect(outcome.state).toBe('succeeded');
    const data = only(outcome, 'relengd.ostree.compose.finished');
    expect(data.commit).toBeNull();
    expect(data.parent).toBe(commit);
    expect(outcome.result).toMatchObject({ commit: null, parent: commit });
    expect(await repo.revParse(REF)).toBe(commit);
    expect(await repo.log(REF)).toHaveLength(1);
  });

  it('an updated package in the updates repo gives a new commit on top of the previous one, announced with it as parent', async () => {
    await compose();
    const previous = await repo.revParse(REF);
    writeUpdates(['kernel-4.13.10-200.fc26', 'ostree-2017.12-2.fc26']);

    const { outcome } = await compose({ composeId: 'f26-atomic-host-26.20261126.1', version: '26.20261126.1' });

    const now = await repo.revParse(REF);
    expect(now).not.toBe(previous);
    expect(await repo.parentOf(now!)).toBe(previous);
    expect(only(outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: now, parent: previous, version: '26.20261126.1' });
    expect(summaryRefs(repoPath)).toEqual({ [REF]: now });
  });

  it('a compose command that fails (missing treefile) fails the job with one compose.failed event pointing at the job log, and the ref stays', async () => {
    await compose();
    const before = await repo.revParse(REF);

    const { ctx, outcome } = await compose({ treefile: join(tmp, 'config', 'no-such-treefile.json') });

    expect(outcome.state).toBe('failed');
    expect(outcome.error).toMatch(/no such file|ENOENT/);
    expect(outcome.error).toContain('no-such-treefile.json');
    const data = only(outcome, 'relengd.ostree.compose.failed');
    expect(data).toMatchObject({ ref: REF, stream: 'f26-atomic-host-x86_64', log: ctx.logPath, error: outcome.error });
    // What the release engineer opens to see why: the command's own output is in the log.
    expect(readFileSync(ctx.logPath, 'utf8')).toContain('no-such-treefile.json');
    expect(await repo.revParse(REF)).toBe(before);
    expect(await repo.log(REF)).toHaveLength(1);
  });

  it('a compose command that exits non-zero fails the job with its exit status in the error', async () => {
    const { ctx, outcome } = await compose({ argv: [node, '-e', 'console.error("rpm-ostree: depsolve failed"); process.exit(3)'] });

    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('exited with 3');
    expect(outcome.error).toContain('depsolve failed');
    expect(only(outcome, 'relengd.ostree.compose.failed')).toMatchObject({ ref: REF, log: ctx.logPath, error: outcome.error });
    expect(await repo.revParse(REF)).toBeNull();
  });

  /**
   * Attempt 1 of a compose job in `workdir` that dies at the first ostree command relengd runs
   * after the compose command wrote its commit id and that `at` accepts (default: the very first):
   * that command never runs. Returns the commit the compose made.
   */
  async function crashAfterCommand(workdir: string, s: ComposeJobSpec, at: (argv: readonly string[]) => boolean = () => true): Promise<string> {
    const { commitIdFile } = composeFiles(workdir);
    const crashing: Run = async (argv) => {
      if (existsSync(commitIdFile) && at(argv)) throw new Error('simulated crash: relengd died here');
      return execRun(argv);
    };
    const attempt1 = composeExecutor({ openRepo: (path) => openRepo(path, crashing) });
    await expect(attempt1.execute(executorContext({ kind: 'compose', spec: s, workdir }))).rejects.toThrow('simulated crash');
    const composed = readFileSync(commitIdFile, 'utf8').trim();
    // Were the compose run again now, these newer updates would make another commit.
    writeUpdates(['kernel-4.14.0-300.fc26', 'ostree-2018.1-1.fc26']);
    return composed;
  }

  async function recover(workdir: string, s: ComposeJobSpec) {
    const ctx = executorContext({ kind: 'compose', spec: s, workdir, recovering: true });
    return { ctx, outcome: await executor.execute(ctx) };
  }

  it('recovering after a crash between the compose command and recording its result does not compose again and reports the commit', async () => {
    await compose({ composeId: 'f26-atomic-host-26.20261125.0', version: '26.20261125.0' });
    const previous = await repo.revParse(REF);
    writeUpdates(['kernel-4.13.10-200.fc26', 'ostree-2017.12-2.fc26']);
    const workdir = newWorkdir(tmp);
    const composed = await crashAfterCommand(workdir, spec());
    expect(await repo.revParse(REF)).toBe(composed);

    const { ctx, outcome } = await recover(workdir, spec());

    expect(outcome.state).toBe('succeeded');
    expect(commandsStarted(ctx.logPath)).toBe(1);
    expect((await repo.log(REF)).map((e) => e.checksum)).toEqual([composed, previous]);
    expect(only(outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: composed, parent: previous, version: VERSION });
    expect(summaryRefs(repoPath)).toEqual({ [REF]: composed });
  });

  // Regression (found by this test, fixed in e7f7760): a recorded parent of null (the stream's first
  // compose) was taken for "not recorded" (`??`), so the recovering attempt compared against the
  // commit the crashed attempt made and announced "no change" (commit: null): never promoted.
  it('recovering the first compose of a new stream after a crash between the command and recording its result reports the commit', async () => {
    const workdir = newWorkdir(tmp);
    const composed = await crashAfterCommand(workdir, spec());

    const { ctx, outcome } = await recover(workdir, spec());

    expect(outcome.state).toBe('succeeded');
    expect(commandsStarted(ctx.logPath)).toBe(1);
    expect((await repo.log(REF)).map((e) => e.checksum)).toEqual([composed]);
    expect(only(outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: composed, parent: null, version: VERSION });
    expect(summaryRefs(repoPath)).toEqual({ [REF]: composed });
  });

  describe('with a compose command that leaves the ref alone (real rpm-ostree with --write-commitid-to)', () => {
    /** The stand-in wrapped so that, like rpm-ostree given --write-commitid-to, it commits but does not set the ref. */
    function rpmOstreeLike(): string[] {
      const script = join(tmp, 'rpm-ostree-like.mjs');
      writeFileSync(
        script,
        `import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
const [standin, ...args] = process.argv.slice(2);
const repo = args.find((a) => a.startsWith('--repo=')).slice('--repo='.length);
const { ref } = JSON.parse(readFileSync(args.at(-1), 'utf8'));
const ostree = (...a) => execFileSync('ostree', [...a, '--repo=' + repo], { encoding: 'utf8' }).trim();
const refs = () => ostree('refs').split('\\n');
const before = refs().includes(ref) ? ostree('rev-parse', ref) : null;
execFileSync(process.execPath, [standin, ...args], { stdio: 'inherit' });
if (before) ostree('refs', '--force', '--create=' + ref, before);
else if (refs().includes(ref)) ostree('refs', '--delete', ref);
`,
      );
      return [node, script, ...STANDIN_ARGV.slice(1)];
    }

    it('the executor moves the ref to the new commit, on top of the previous one', async () => {
      const argv = rpmOstreeLike();
      const first = await compose({ argv });
      const c1 = await repo.revParse(REF);
      expect(only(first.outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: c1, parent: null });
      expect(c1).toMatch(/^[0-9a-f]{64}$/);
      writeUpdates(['kernel-4.13.10-200.fc26']);

      const second = await compose({ argv, version: '26.20261126.1' });

      const c2 = await repo.revParse(REF);
      expect(c2).not.toBe(c1);
      expect(only(second.outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: c2, parent: c1, version: '26.20261126.1' });
      expect(summaryRefs(repoPath)).toEqual({ [REF]: c2 });
    });

    it('recovering after a crash right after the command moves the ref without composing again', async () => {
      const argv = rpmOstreeLike();
      const workdir = newWorkdir(tmp);
      const composed = await crashAfterCommand(workdir, spec({ argv }));
      expect(await repo.revParse(REF)).toBeNull();

      const { ctx, outcome } = await recover(workdir, spec({ argv }));

      expect(commandsStarted(ctx.logPath)).toBe(1);
      expect(await repo.revParse(REF)).toBe(composed);
      expect(only(outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: composed, parent: null });
    });

    // Regression, same cause as above, as reached with real rpm-ostree: relengd dies after moving the
    // ref itself (here: at the summary update) during the first compose of a new stream.
    it('recovering the first compose of a new stream after a crash after relengd moved the ref reports the commit', async () => {
      const argv = rpmOstreeLike();
      const workdir = newWorkdir(tmp);
      const composed = await crashAfterCommand(workdir, spec({ argv }), (a) => a.includes('summary'));
      expect(await repo.revParse(REF)).toBe(composed);

      const { outcome } = await recover(workdir, spec({ argv }));

      expect(outcome.state).toBe('succeeded');
      expect(only(outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: composed, parent: null, version: VERSION });
      expect(summaryRefs(repoPath)).toEqual({ [REF]: composed });
    });
  });

  it('recovering when the interrupted attempt left no commit id runs the compose', async () => {
    const workdir = newWorkdir(tmp);
    const outcome = await executor.execute(executorContext({ kind: 'compose', spec: spec(), workdir, recovering: true }));

    expect(outcome.state).toBe('succeeded');
    const commit = await repo.revParse(REF);
    expect(commit).toMatch(/^[0-9a-f]{64}$/);
    expect(only(outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit, parent: null });
  });

  it("an operator's retry after a later compose moved the ref composes anew on top of it, and the ref keeps that compose", async () => {
    await compose({ composeId: 'f26-atomic-host-20261126.0', version: '26.20261126.0' });
    // This compose fails once (say, a mirror was down) and leaves its job directory behind.
    const failOnce = [node, join(projectRoot, 'test', 'helpers', 'fail-once.ts'), join(tmp, 'failed-once'), ...STANDIN_ARGV];
    const failing = spec({ composeId: 'f26-atomic-host-20261126.1', version: '26.20261126.1', argv: failOnce });
    const workdir = newWorkdir(tmp);
    expect((await executor.execute(executorContext({ kind: 'compose', spec: failing, workdir }))).state).toBe('failed');
    // Meanwhile the next push composed and moved the ref.
    writeUpdates(['kernel-4.13.10-200.fc26', 'ostree-2017.12-2.fc26']);
    await compose({ composeId: 'f26-atomic-host-20261126.2', version: '26.20261126.2' });
    const later = await repo.revParse(REF);
    writeUpdates(['kernel-4.13.11-200.fc26', 'ostree-2017.12-2.fc26']);

    // `relengd jobs retry`: the same job directory, a second attempt, one retry recorded.
    const ctx = executorContext({ kind: 'compose', spec: failing, workdir, recovering: true });
    const outcome = await executor.execute({ ...ctx, job: { ...ctx.job, retries: 1 } });

    expect(outcome.state).toBe('succeeded');
    const retried = await repo.revParse(REF);
    expect(only(outcome, 'relengd.ostree.compose.finished')).toMatchObject({ commit: retried, parent: later, version: '26.20261126.1' });
    expect((await repo.log(REF)).map((e) => e.checksum).slice(0, 2)).toEqual([retried, later]);
  });

  it('a ref moved by someone else during the compose fails the job naming the ref, and the other writer keeps the ref', async () => {
    await compose();
    const before = await repo.revParse(REF);
    // A "compose" that races another writer: someone commits on the ref; the compose's own commit is an orphan.
    const script = join(tmp, 'other-writer.mjs');
    writeFileSync(
      script,
      `import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const [repo, ref, commitIdFile, stamp] = process.argv.slice(2);
const ostree = (...args) => execFileSync('ostree', args, { encoding: 'utf8' }).trim();
const dir = mkdtempSync(join(tmpdir(), 'other-writer-'));
try {
  writeFileSync(join(dir, 'other'), 'someone else');
  ostree('commit', '--repo=' + repo, '--branch=' + ref, '--subject=someone else', '--tree=dir=' + dir);
  writeFileSync(join(dir, 'ours'), 'ours');
  writeFileSync(commitIdFile, ostree('commit', '--repo=' + repo, '--orphan', '--subject=ours', '--tree=dir=' + dir));
  writeFileSync(stamp, '');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
`,
    );

    const { outcome, workdir } = await compose({ argv: [node, script, '{repo}', '{ref}', '{commitIdFile}', '{changedStamp}'] });

    const ours = readFileSync(composeFiles(workdir).commitIdFile, 'utf8').trim();
    const now = await repo.revParse(REF);
    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain(REF);
    expect(outcome.error).toMatch(/moved/);
    expect(only(outcome, 'relengd.ostree.compose.failed')).toMatchObject({ ref: REF, error: outcome.error });
    expect(now).not.toBe(ours);
    expect(now).not.toBe(before);
    expect((await repo.show(now!)).subject).toBe('someone else');
  });
});
