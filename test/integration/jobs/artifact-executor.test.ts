/**
 * The artifact executor with the lorax / koji stand-in writing a real file from a real commit.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { artifactExecutor } from '../../../src/jobs/executors/artifact.ts';
import type { JobOutcome } from '../../../src/jobs/executor.ts';
import type { ArtifactJobSpec } from '../../../src/jobs/specs.ts';
import { openRepo } from '../../../src/ostree/index.ts';
import { STANDIN_BUILD, executorContext, newWorkdir, node } from '../../helpers/executor-context.ts';

const REF = 'fedora/26/x86_64/updates/atomic-host';
const VERSION = '26.20261126.0';
const QCOW2 = `{outputDir}/fedora-atomic-{version}.x86_64.qcow2`;

let tmp: string;
let repoPath: string;
let commit: string;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-artifact-'));
  repoPath = join(tmp, 'repo');
  const repo = openRepo(repoPath);
  await repo.init('archive');
  const root = join(tmp, 'rootfs');
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/os-release'), `NAME="Fedora"\nVERSION="${VERSION} (Atomic Host)"\n`);
  commit = await repo.commit({ tree: { dir: root }, branch: REF, subject: `${REF} ${VERSION}`, metadata: { version: VERSION } });
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function spec(overrides: Partial<ArtifactJobSpec> = {}): ArtifactJobSpec {
  return {
    composeId: `f26-atomic-host-${VERSION}`,
    stream: 'f26-atomic-host-x86_64',
    commit,
    version: VERSION,
    name: 'qcow2',
    kind: 'image',
    platform: 'qemu',
    format: 'qcow2',
    failable: true,
    arch: 'x86_64',
    group: 'f26-atomic-host',
    release: '26',
    repo: repoPath,
    ref: REF,
    output: QCOW2,
    command: [node, STANDIN_BUILD, '--repo={repo}', '--commit={commit}', '--kind=image', `--out=${QCOW2}`],
    ...overrides,
  };
}

const executor = artifactExecutor();

async function build(overrides: Partial<ArtifactJobSpec> = {}, workdir = newWorkdir(tmp)) {
  const ctx = executorContext({ kind: 'artifact', spec: spec(overrides), workdir });
  const outcome = await executor.execute(ctx);
  return { ctx, outcome, workdir };
}

function only(outcome: JobOutcome, topic: string): Record<string, unknown> {
  expect(outcome.emit.map((e) => e.topic)).toEqual([topic]);
  return outcome.emit[0]!.data as Record<string, unknown>;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('artifact executor', () => {
  it('a built image is announced with its path, its real size and its sha256', async () => {
    const { outcome, workdir } = await build();

    expect(outcome.state).toBe('succeeded');
    const path = join(workdir, 'out', `fedora-atomic-${VERSION}.x86_64.qcow2`);
    expect(readFileSync(path, 'utf8')).toContain(`for commit ${commit}`);
    const data = only(outcome, 'relengd.artifact.build.finished');
    expect(data).toEqual({
      composeId: `f26-atomic-host-${VERSION}`,
      stream: 'f26-atomic-host-x86_64',
      commit,
      version: VERSION,
      name: 'qcow2',
      kind: 'image',
      platform: 'qemu',
      format: 'qcow2',
      failable: true,
      path,
      size: statSync(path).size,
      sha256: sha256(path),
    });
    expect(statSync(path).size).toBeGreaterThan(0);
    expect(outcome.result).toEqual({ path, size: statSync(path).size, sha256: sha256(path) });
  });

  it('an output with a * in the file name matches the one file the builder wrote', async () => {
    const { outcome, workdir } = await build({ output: '{outputDir}/*.qcow2' });

    expect(outcome.state).toBe('succeeded');
    const path = join(workdir, 'out', `fedora-atomic-${VERSION}.x86_64.qcow2`);
    expect(only(outcome, 'relengd.artifact.build.finished')).toMatchObject({ path, size: statSync(path).size, sha256: sha256(path) });
  });

  it('a file left in the output directory by an interrupted attempt is not taken for the artifact', async () => {
    const workdir = newWorkdir(tmp);
    mkdirSync(join(workdir, 'out'));
    writeFileSync(join(workdir, 'out', 'half-written.qcow2'), 'partial');

    const { outcome } = await build({ output: '{outputDir}/*.qcow2' }, workdir);

    expect(outcome.state).toBe('succeeded');
    expect(only(outcome, 'relengd.artifact.build.finished').path).toBe(join(workdir, 'out', `fedora-atomic-${VERSION}.x86_64.qcow2`));
  });

  it('a builder that fails gives artifact.build.failed with its error and the job log to read', async () => {
    const { ctx, outcome } = await build({ kind: 'installer', name: 'installer', platform: 'metal', format: 'iso', command: [...spec().command, '--fail'] });

    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('the stand-in was told to fail');
    expect(only(outcome, 'relengd.artifact.build.failed')).toMatchObject({
      name: 'installer',
      kind: 'installer',
      commit,
      failable: true,
      log: ctx.logPath,
      error: outcome.error,
    });
    expect(readFileSync(ctx.logPath, 'utf8')).toContain('the stand-in was told to fail');
  });

  it('a builder that writes nothing matching the output fails naming the output pattern', async () => {
    const { ctx, outcome } = await build({ output: '{outputDir}/images/boot.iso' });

    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('images/boot.iso');
    expect(only(outcome, 'relengd.artifact.build.failed')).toMatchObject({ log: ctx.logPath, error: outcome.error });
  });

  it('a glob output the builder left nothing for fails naming the pattern', async () => {
    const { outcome } = await build({ output: '{outputDir}/*.iso' });

    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('*.iso');
  });

  it('two files matching the output fail the job saying how many matched', async () => {
    const twoImages = `const [dir] = process.argv.slice(1); require('node:fs').mkdirSync(dir, { recursive: true });
for (const n of ['a', 'b']) require('node:fs').writeFileSync(dir + '/fedora-atomic-' + n + '.qcow2', n);`;
    const { outcome } = await build({ output: '{outputDir}/*.qcow2', command: [node, '-e', twoImages, '{outputDir}'] });

    expect(outcome.state).toBe('failed');
    expect(outcome.error).toMatch(/\b2 files\b/);
    expect(outcome.error).toContain('fedora-atomic-a.qcow2');
    expect(outcome.error).toContain('fedora-atomic-b.qcow2');
    expect(only(outcome, 'relengd.artifact.build.failed').error).toBe(outcome.error);
  });
});
