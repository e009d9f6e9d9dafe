/**
 * A real container registry on loopback for the image tests: Debian's `docker-registry` (the CNCF
 * distribution registry) serving plain HTTP on 127.0.0.1 at a free port, its storage in a
 * directory of the test's. Without the tools (docker-registry, skopeo, umoci, buildah) a test skips
 * and says why, except under CI=true, where it fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Stand-in for `rpm-ostree compose container-encapsulate`: a real OCI image of the commit (run as `[node, STANDIN_OCI, ...]`). */
export const STANDIN_OCI = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'src', 'cli', 'demo', 'standin-oci.ts');

export const REGISTRY_TOOLS = ['docker-registry', 'skopeo', 'umoci', 'buildah'] as const;

const missing = REGISTRY_TOOLS.filter((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).error !== undefined);

/** Why the image tests cannot run here, or undefined when they can. */
export const registryToolsMissingReason: string | undefined =
  missing.length === 0 ? undefined : `${missing.join(', ')} not installed (apt-get install skopeo umoci buildah docker-registry, or npm run setup -- --tests)`;

if (registryToolsMissingReason !== undefined && process.env.CI === 'true') throw new Error(`CI=true but ${registryToolsMissingReason}`);
if (registryToolsMissingReason !== undefined) console.warn(`skipping registry tests: ${registryToolsMissingReason}`);

export interface RunningRegistry {
  /** `127.0.0.1:PORT`: the registry host of every repository in it. */
  host: string;
  /** `127.0.0.1:PORT/<path>`. */
  repository(path: string): string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the registry may still lose it to a race: then it is started again). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a registry storing under `dir`; resolves once it said it listens and `/v2/` answers. */
export async function startRegistry(dir: string, attempts = 3): Promise<RunningRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, `registry-${port}.yml`);
  mkdirSync(join(dir, 'registry-storage'), { recursive: true });
  writeFileSync(
    config,
    `version: 0.1
log: { level: info, formatter: text }
storage:
  filesystem: { rootdirectory: ${join(dir, 'registry-storage')} }
  delete: { enabled: true }
http:
  addr: ${host}
  secret: relengd-test-registry
`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  const listening = await new Promise<boolean>((resolve) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (line.includes(`listening on ${host}`)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  if (!listening) {
    if (attempts > 1 && output.includes('address already in use')) return startRegistry(dir, attempts - 1);
    throw new Error(`docker-registry did not start on ${host}:\n${output}`);
  }
  const answer = await fetch(`http://${host}/v2/`);
  if (answer.status !== 200) throw new Error(`the registry on ${host} answers /v2/ with ${answer.status}`);
  return {
    host,
    repository: (path) => `${host}/${path}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
