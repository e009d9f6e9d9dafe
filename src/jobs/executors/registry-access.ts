/**
 * The registry as a job sees it: skopeo and buildah run with the job's cancellation and time
 * budget, and each command with what it said goes into the job's log.
 */
import { appendFileSync } from 'node:fs';
import { Registry, execRun, type Run } from '../../registry/index.ts';
import type { JobContext } from '../executor.ts';
import { LOG_MARKER } from '../process.ts';

/** A {@link Run} bound to the job: aborted with it, logged into its log. */
export function registryRun(ctx: Pick<JobContext, 'signal' | 'timeoutMs' | 'logPath' | 'now'>): Run {
  return execRun({
    signal: ctx.signal,
    timeoutMs: ctx.timeoutMs,
    onFinished: (argv, result) => {
      const said = result.stderr.trim();
      appendFileSync(ctx.logPath, `${LOG_MARKER} ${ctx.now().toISOString()} ran ${JSON.stringify(argv)}: exited ${result.exitCode}\n${said ? `${said}\n` : ''}`);
    },
  });
}

/** The repository an image config names, through the job's {@link registryRun}. */
export function registryFor(image: { repository: string; tlsVerify: boolean; authFile?: string | undefined }, run: Run): Registry {
  return new Registry({ repository: image.repository, tlsVerify: image.tlsVerify, authFile: image.authFile, run });
}
