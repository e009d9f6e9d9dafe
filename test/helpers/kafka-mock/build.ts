/**
 * Builds the mock cluster (mock-cluster.c) with `gcc $(pkg-config --cflags --libs rdkafka)`
 * (Debian: librdkafka-dev, pkg-config, gcc; .ci/run installs them), cached under
 * node_modules/.cache/relengd-kafka-mock, keyed by the source, the flags and librdkafka's version.
 *
 * `node test/helpers/kafka-mock/build.ts` builds it and prints the binary's path (.ci/run does, so a
 * missing compiler or library fails CI before the tests).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, 'mock-cluster.c');
const CACHE_DIR = resolve(here, '..', '..', '..', 'node_modules', '.cache', 'relengd-kafka-mock');

const run = promisify(execFile);

/** Builds the binary unless the cached one matches the source and librdkafka's version; its path. */
export async function buildMockCluster(): Promise<string> {
  const flags = await pkgConfig();
  const version = (await run('pkg-config', ['--modversion', 'rdkafka'])).stdout.trim();
  const hash = createHash('sha256').update(readFileSync(SOURCE)).update(flags.join(' ')).update(version).digest('hex').slice(0, 16);
  const binary = join(CACHE_DIR, `mock-cluster-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(CACHE_DIR, { recursive: true });
  // Built under a name of its own and renamed: test files build concurrently.
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    await run('gcc', ['-O1', '-Wall', '-o', partial, SOURCE, ...flags]);
    renameSync(partial, binary);
  } catch (error) {
    rmSync(partial, { force: true });
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`gcc could not build ${SOURCE}${stderr ? `: ${stderr.split('\n').slice(-3).join(' | ')}` : ''}`, { cause: error });
  }
  return binary;
}

async function pkgConfig(): Promise<string[]> {
  try {
    const { stdout } = await run('pkg-config', ['--cflags', '--libs', 'rdkafka']);
    return stdout.trim().split(/\s+/).filter(Boolean);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'pkg-config is not installed (apt-get install pkg-config librdkafka-dev gcc)' : 'librdkafka is not installed (apt-get install librdkafka-dev)', { cause: error });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await buildMockCluster());
}
