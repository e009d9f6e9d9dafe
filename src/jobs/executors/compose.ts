import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailedError, RefConflictError } from '../../errors.ts';
import type { OstreeRepo } from '../../ostree/index.ts';
import type { Executor, JobContext, JobEmit, JobOutcome } from '../executor.ts';
import { pidFileIn } from '../executor.ts';
import { runCommand } from '../process.ts';
import { ComposeJobSpec } from '../specs.ts';
import { expandArgv } from './templates.ts';

export interface ComposeExecutorDeps {
  openRepo: (path: string) => OstreeRepo;
}

/** Files a compose leaves in its job directory; a re-run after a crash reads them back. */
export function composeFiles(workdir: string) {
  return {
    commitIdFile: join(workdir, 'commitid'),
    changedStamp: join(workdir, 'changed'),
    parentFile: join(workdir, 'parent.json'),
    outputDir: join(workdir, 'out'),
  };
}

/**
 * Runs the stream's compose command (production: `rpm-ostree compose tree --repo={repo}
 * --write-commitid-to={commitIdFile} --touch-if-changed={changedStamp} ...`), reads the commit id
 * back, moves the stream's ref to it (compare-and-swap on the value before the compose) and
 * regenerates the summary. No new commit is a result (`commit: null`), not a failure.
 */
export function composeExecutor(deps: ComposeExecutorDeps): Executor {
  return {
    kind: 'compose',
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = ComposeJobSpec.parse(ctx.job.spec);
      const started = ctx.now().getTime();
      const files = composeFiles(ctx.workdir);
      const repo = deps.openRepo(spec.repo);
      const failed = (error: string): JobOutcome => ({ state: 'failed', error, emit: [composeFailed(spec, error, ctx.logPath)] });

      if (!repo.exists()) {
        ctx.logger.warn({ repo: spec.repo }, 'OSTree repository missing: creating it (archive mode)');
        await repo.init('archive');
      }
      // The parent is the ref before the first attempt: a re-run must compare against it, not against a ref the crashed attempt moved.
      // An operator's retry is a new run: when the ref moved since the failed one (a later compose landed), what it left is stale.
      const recorded = readParent(files.parentFile);
      const retried = recorded !== undefined && recorded.retries !== ctx.job.retries;
      const current = recorded === undefined || retried ? await repo.revParse(spec.ref) : undefined;
      if (retried && current !== recorded.parent) {
        ctx.logger.info({ ref: spec.ref, was: recorded.parent, now: current }, 'the ref moved since the failed attempt: composing anew on top of it');
        for (const stale of [files.commitIdFile, files.changedStamp]) rmSync(stale, { force: true });
      }
      const parent = recorded !== undefined && !retried ? recorded.parent : await recordParent(files.parentFile, current!, ctx.job.retries);

      const alreadyComposed = ctx.recovering && existsSync(files.commitIdFile);
      if (alreadyComposed) ctx.logger.info({ ref: spec.ref }, 'compose finished before the interruption: reading its commit back');
      else {
        const argv = expandArgv(spec.argv, {
          repo: spec.repo,
          ref: spec.ref,
          treefile: spec.treefile,
          commitIdFile: files.commitIdFile,
          changedStamp: files.changedStamp,
          version: spec.version,
          outputDir: files.outputDir,
          workdir: ctx.workdir,
          release: spec.release,
          arch: spec.arch,
          stream: spec.stream,
        });
        try {
          await runCommand({ argv, cwd: ctx.workdir, logPath: ctx.logPath, pidFile: pidFileIn(ctx.workdir), timeoutMs: ctx.timeoutMs, signal: ctx.signal });
        } catch (error) {
          if (ctx.signal.aborted) throw error; // shutdown: re-run at the next start
          if (error instanceof CommandFailedError) return failed(error.message);
          throw error;
        }
      }

      const commit = readCommitId(files.commitIdFile);
      const usesStamp = spec.argv.some((a) => a.includes('{changedStamp}'));
      const changed = commit !== null && commit !== parent && (!usesStamp || existsSync(files.changedStamp));
      if (changed) {
        const current = await repo.revParse(spec.ref);
        // rpm-ostree with --write-commitid-to leaves the ref alone; a wrapper may have moved it already. Anything else moved it: refuse.
        if (current !== commit) {
          try {
            await repo.compareAndSetRef(spec.ref, parent, commit);
          } catch (error) {
            if (error instanceof RefConflictError) return failed(`${error.message}; the compose is not published`);
            throw error;
          }
        }
        await repo.updateSummary();
      }
      const version = changed ? (((await repo.metadata(commit, 'version')) as string | null) ?? spec.version) : spec.version;
      const duration = Math.max(0, (ctx.now().getTime() - started) / 1000);
      const emit: JobEmit = {
        topic: 'relengd.ostree.compose.finished',
        key: 'finished',
        subject: spec.ref,
        data: { composeId: spec.composeId, causes: spec.causes, stream: spec.stream, ref: spec.ref, commit: changed ? commit : null, parent, version, duration },
      };
      ctx.logger.info({ ref: spec.ref, commit: changed ? commit : null, parent, version }, changed ? 'composed a new commit' : 'compose made no change');
      return { state: 'succeeded', result: { commit: changed ? commit : null, parent, version }, emit: [emit] };
    },
    failureEvents(job, error, logPath) {
      const spec = ComposeJobSpec.safeParse(job.spec);
      return spec.success ? [composeFailed(spec.data, error, logPath)] : [];
    },
  };
}

/** `ostree.compose.failed`: what the composer waits for to start the ref's next compose. */
function composeFailed(spec: ComposeJobSpec, error: string, log: string): JobEmit {
  return { topic: 'relengd.ostree.compose.failed', key: 'failed', subject: spec.ref, data: { composeId: spec.composeId, stream: spec.stream, ref: spec.ref, version: spec.version, error, log } };
}

function readCommitId(file: string): string | null {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8').trim();
  return /^[0-9a-f]{64}$/.test(text) ? text : null;
}

/** The ref before the job's run, and which run (`jobs.retries`) recorded it; absent in files written before retries. */
function readParent(file: string): { parent: string | null; retries: number } | undefined {
  if (!existsSync(file)) return undefined;
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as { parent: string | null; retries?: number };
  return { parent: recorded.parent, retries: recorded.retries ?? 0 };
}

async function recordParent(file: string, parent: string | null, retries: number): Promise<string | null> {
  writeFileSync(file, JSON.stringify({ parent, retries }));
  return parent;
}
