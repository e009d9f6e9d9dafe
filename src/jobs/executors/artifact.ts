import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CommandFailedError } from '../../errors.ts';
import type { Executor, JobContext, JobEmit, JobOutcome } from '../executor.ts';
import { pidFileIn } from '../executor.ts';
import { runCommand } from '../process.ts';
import { ArtifactJobSpec } from '../specs.ts';
import { expandArgv } from './templates.ts';
import { pushOciArtifact } from './oci-artifact.ts';
import { expandTemplate } from '../../config/index.ts';

/**
 * Builds one artifact (production: lorax for the installer, `koji image-build ... --wait` for
 * images) into {outputDir}, then finds the file `output` names and reports its size and sha256.
 * {outputDir} does not exist when the builder starts: lorax refuses an existing one.
 */
export function artifactExecutor(): Executor {
  return {
    kind: 'artifact',
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = ArtifactJobSpec.parse(ctx.job.spec);
      const outputDir = join(ctx.workdir, 'out');
      const identity = artifactIdentity(spec);
      const failed = (error: string): JobOutcome => ({ state: 'failed', error, emit: [artifactFailed(spec, error, ctx.logPath)] });
      const vars = {
        repo: spec.repo,
        ref: spec.ref,
        commit: spec.commit,
        composeId: spec.composeId,
        name: spec.name,
        version: spec.version ?? '',
        outputDir,
        workdir: ctx.workdir,
        release: spec.release,
        arch: spec.arch,
        stream: spec.stream,
        treefile: '',
        commitIdFile: '',
        changedStamp: '',
      };
      // Every attempt builds from scratch: a half-written image from an interrupted one is not an artifact.
      rmSync(outputDir, { recursive: true, force: true });
      try {
        await runCommand({ argv: expandArgv(spec.command, vars), cwd: ctx.workdir, logPath: ctx.logPath, pidFile: pidFileIn(ctx.workdir), timeoutMs: ctx.timeoutMs, signal: ctx.signal });
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        if (error instanceof CommandFailedError) return failed(error.message);
        throw error;
      }
      const output = expandTemplate(spec.output, vars);
      if (spec.kind === 'oci') {
        // A container image is not a file to hash: it is pushed, and known by its manifest digest.
        const image = await pushOciArtifact(ctx, spec, output, vars);
        if (typeof image === 'string') return failed(image);
        return { state: 'succeeded', result: image, emit: [{ topic: 'relengd.artifact.build.finished', key: 'finished', subject: spec.ref, data: { ...identity, ...image } }] };
      }
      const matches = matchOutput(output);
      if (matches.length !== 1) {
        return failed(matches.length === 0 ? `the builder left no file matching ${output}` : `${output} matches ${matches.length} files: ${matches.map((m) => basename(m)).join(', ')}`);
      }
      const path = matches[0]!;
      const size = statSync(path).size;
      const sha256 = await sha256Of(path);
      ctx.logger.info({ artifact: spec.name, path, size, sha256 }, 'artifact built');
      return {
        state: 'succeeded',
        result: { path, size, sha256 },
        emit: [{ topic: 'relengd.artifact.build.finished', key: 'finished', subject: spec.ref, data: { ...identity, path, sha256, size } }],
      };
    },
    failureEvents(job, error, logPath) {
      const spec = ArtifactJobSpec.safeParse(job.spec);
      return spec.success ? [artifactFailed(spec.data, error, logPath)] : [];
    },
  };
}

function artifactIdentity(spec: ArtifactJobSpec) {
  return {
    composeId: spec.composeId,
    stream: spec.stream,
    commit: spec.commit,
    version: spec.version ?? null,
    name: spec.name,
    kind: spec.kind,
    platform: spec.platform,
    format: spec.format,
    failable: spec.failable,
    ...(spec.pungiComposeId === undefined ? {} : { pungiComposeId: spec.pungiComposeId }),
  };
}

/** `artifact.build.failed`: the compose tracker joins on it to announce the compose. */
function artifactFailed(spec: ArtifactJobSpec, error: string, log: string): JobEmit {
  return { topic: 'relengd.artifact.build.failed', key: 'failed', subject: spec.ref, data: { ...artifactIdentity(spec), error, log } };
}

/** Files matching a path whose last component may hold `*` wildcards. */
export function matchOutput(pattern: string): string[] {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (!name.includes('*')) return existsSync(pattern) && statSync(pattern).isFile() ? [pattern] : [];
  if (!existsSync(dir)) return [];
  const re = new RegExp(`^${name.split('*').map(escapeRegExp).join('.*')}$`);
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .sort();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
