import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailedError } from '../../errors.ts';
import { ManifestParseError, pushIndex } from '../../registry/index.ts';
import type { Executor, JobContext, JobEmit, JobOutcome } from '../executor.ts';
import { ImageIndexJobSpec } from '../specs.ts';
import { registryFor, registryRun } from './registry-access.ts';

/**
 * Pushes one manifest list (OCI image index) over every arch's image of a group version
 * (`buildah manifest create/add/push --all`), then reads the tag back: the list the registry serves
 * must cover exactly the arches' digests. Every attempt starts from an empty buildah storage; pushing
 * the same images again makes the same list, so a re-run after a crash is harmless.
 */
export function imageIndexExecutor(): Executor {
  return {
    kind: 'image-index',
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = ImageIndexJobSpec.parse(ctx.job.spec);
      const run = registryRun(ctx);
      const storageDir = join(ctx.workdir, 'buildah');
      const digestFile = join(ctx.workdir, 'index.digest');
      rmSync(storageDir, { recursive: true, force: true });
      const failed = (error: string): JobOutcome => ({ state: 'failed', error, emit: [indexFailed(spec, error, ctx.logPath)] });
      try {
        await pushIndex({ storageDir, repository: spec.repository, digests: spec.images.map((i) => i.digest), tag: spec.tag, digestFile, tlsVerify: spec.tlsVerify, authFile: spec.authFile }, run);
        const pushed = readFileSync(digestFile, 'utf8').trim();
        const served = await registryFor(spec, run).manifest({ tag: spec.tag });
        if (!served || served.digest !== pushed) return failed(`${spec.repository}:${spec.tag} resolves to ${served?.digest ?? 'nothing'} right after pushing ${pushed}: another push raced this one`);
        if (served.kind !== 'index') return failed(`${spec.repository}:${spec.tag} is not a manifest list after the push`);
        const covered = served.manifests.map((m) => m.digest).sort();
        const expected = spec.images.map((i) => i.digest).sort();
        if (JSON.stringify(covered) !== JSON.stringify(expected)) return failed(`the pushed list covers ${covered.join(', ')}, not the arches' images ${expected.join(', ')}`);
        ctx.logger.info({ group: spec.group, version: spec.version, image: `${spec.repository}@${served.digest}`, tag: spec.tag }, 'manifest list pushed');
        return {
          state: 'succeeded',
          result: { digest: served.digest },
          emit: [{ topic: 'relengd.image.index.finished', key: 'finished', subject: spec.group, data: { ...identity(spec), digest: served.digest } }],
        };
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        if (error instanceof CommandFailedError || error instanceof ManifestParseError) return failed(error.message);
        throw error;
      } finally {
        rmSync(storageDir, { recursive: true, force: true });
      }
    },
    failureEvents(job, error, logPath) {
      const spec = ImageIndexJobSpec.safeParse(job.spec);
      return spec.success ? [indexFailed(spec.data, error, logPath)] : [];
    },
  };
}

function identity(spec: ImageIndexJobSpec) {
  return { group: spec.group, version: spec.version, name: spec.name, repository: spec.repository, tag: spec.tag, manifests: spec.images.map(({ arch, digest }) => ({ arch, digest })) };
}

function indexFailed(spec: ImageIndexJobSpec, error: string, log: string): JobEmit {
  return { topic: 'relengd.image.index.failed', key: 'failed', subject: spec.group, data: { ...identity(spec), error, log } };
}
