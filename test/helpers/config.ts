import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll } from 'vitest';
import { parseConfig, type Config } from '../../src/config/index.ts';

/**
 * RELENGD_TEST_STORE=postgres (the test matrix, `npm run test:postgres`): each `dir` gets a database
 * of its own on RELENGD_TEST_POSTGRES_URL's server, made the first time its config is asked for (in
 * a child process: testConfigYaml is synchronous) and dropped after the test file.
 */
const postgresDatabases = new Map<string, string>();
const postgresAdminUrl = process.env.RELENGD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
if (process.env.RELENGD_TEST_STORE === 'postgres') afterAll(dropTestDatabases);

function postgresAdmin(sql: string): void {
  const script = `import pg from 'pg'; const c = new pg.Client({ connectionString: process.argv[1] }); await c.connect(); try { await c.query(process.argv[2]); } finally { await c.end(); }`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script, postgresAdminUrl, sql], { stdio: ['ignore', 'ignore', 'inherit'], cwd: join(import.meta.dirname, '../..') });
}

/** The YAML `store:` line for a test daemon under `dir` on the backend under test. */
export function testStoreYaml(dir: string): string {
  if (process.env.RELENGD_TEST_STORE !== 'postgres') return `store: { path: ${join(dir, 'relengd.db')} }`;
  let url = postgresDatabases.get(dir);
  if (url === undefined) {
    const name = `relengd_test_${randomBytes(6).toString('hex')}`;
    postgresAdmin(`CREATE DATABASE "${name}"`);
    const u = new URL(postgresAdminUrl);
    u.pathname = `/${name}`;
    url = u.href;
    postgresDatabases.set(dir, url);
  }
  // One replica id per dir: a restarted test daemon is the same replica and takes its leases back at once (a new id would wait out the dead one's lease).
  return `store: { url: "${url}", replicaId: ${new URL(url).pathname.slice(1)} }`;
}

/** Edits a config's `store: { path: <dir>/relengd.db }` line (the demo's) onto the backend under test. */
export function onTestStore(dir: string, edit: (yaml: string) => string = (y) => y): (yaml: string) => string {
  return (yaml) => edit(yaml).replace(`store: { path: ${join(dir, 'relengd.db')} }`, testStoreYaml(dir));
}

async function dropTestDatabases(): Promise<void> {
  if (postgresDatabases.size === 0) return;
  const client = new Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    for (const url of postgresDatabases.values()) await client.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
    postgresDatabases.clear();
  } finally {
    await client.end();
  }
}

export interface TestConfigOptions {
  /** Top-level YAML added to the config. */
  extra?: string;
  /** YAML added to each stream (indented 4 spaces), given its arch. */
  stream?: (arch: string) => string;
}

/** YAML for a two-arch f26 Atomic Host group fed by f26-updates, with its store under `dir`. */
export function testConfigYaml(dir: string, options: TestConfigOptions | string = {}): string {
  const o = typeof options === 'string' ? { extra: options } : options;
  const stream = (arch: string) => `
  - id: f26-atomic-host-${arch}
    group: f26-atomic-host
    release: "26"
    arch: ${arch}
    triggers: { updatesRepos: [f26-updates], tags: [f26-atomic] }
    ostree:
      repo: ${join(dir, 'repo')}
      ref: fedora/26/${arch}/updates/atomic-host
      treefile: fedora-atomic-host.json
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "--write-commitid-to={commitIdFile}", "{treefile}"]${o.stream ? `\n${o.stream(arch)}` : ''}`;
  return `topicPrefix: org.fedoraproject.prod
${testStoreYaml(dir)}
http: { host: 127.0.0.1, port: 0 }
jobs: { workdir: ${join(dir, 'jobs')} }
log: { level: warn }
${o.extra ?? ''}
streams:${stream('x86_64')}${stream('aarch64')}
`;
}

export function testConfig(dir: string, options: TestConfigOptions | string = {}): Config {
  return parseConfig(testConfigYaml(dir, options), {});
}

/** Per-stream YAML: an installer and a qcow2 image, and promotion gated as given. */
export function artifactsAndPromotion(options: { installerFailable?: boolean; accept?: string; gates?: string } = {}) {
  return (arch: string) => `    artifacts:
      - { name: installer, kind: installer, platform: metal, format: iso, failable: ${options.installerFailable ?? false}, output: "{outputDir}/images/boot.iso", command: [lorax, "{outputDir}"] }
      - { name: qcow2, kind: image, platform: qemu, format: qcow2, failable: true, output: "{outputDir}/*.qcow2", command: [koji, image-build, --wait] }
    promote:
      ref: fedora/26/${arch}/atomic-host
      accept: ${options.accept ?? '[FINISHED, FINISHED_INCOMPLETE]'}
      gates: ${options.gates ?? '[{ greenwave: { decisionContext: atomic_two_week } }]'}`;
}
