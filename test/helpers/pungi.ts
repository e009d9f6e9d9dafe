import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedTransport } from '../../src/bus/embedded/transport.ts';
import { startDaemon } from '../../src/cli/daemon.ts';
import { parseConfig, type Config } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { openRepo, type OstreeRepo } from '../../src/ostree/index.ts';
import { syncStore } from './sync-store.ts';

export const NIGHTLY = 'Fedora-26-20170705.n.0';
export const PUNGI_ARCHES = ['x86_64', 'aarch64'] as const;
export const nightlyRef = (arch: string): string => `fedora/26/${arch}/testing/atomic-host`;
export const releaseRef = (arch: string): string => `fedora/26/${arch}/atomic-host`;

/**
 * YAML for the seed's pre-release path: a two-arch f26 Atomic Host group taking Pungi's nightlies
 * (`Fedora-26-*.n.*`, variant Atomic) from the compose repo `<dir>/compose-repo`, promoted into
 * the public repo `<dir>/repo` (pulled from the compose repo), gated on Greenwave.
 */
export function pungiConfigYaml(dir: string, options: { stream?: (arch: string) => string; gates?: string } = {}): string {
  const stream = (arch: string) => `
  - id: f26-atomic-host-${arch}
    group: f26-atomic-host
    release: "26"
    arch: ${arch}
    triggers:
      pungi: { composeId: "Fedora-26-*.n.*", variant: Atomic, repo: ${join(dir, 'compose-repo')} }
    ostree:
      repo: ${join(dir, 'repo')}
      ref: ${nightlyRef(arch)}
      treefile: fedora-atomic-host.json
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "{treefile}"]
    promote:
      ref: ${releaseRef(arch)}
      from: { repo: ${join(dir, 'compose-repo')} }
      accept: [FINISHED, FINISHED_INCOMPLETE]
      gates: ${options.gates ?? '[{ greenwave: { decisionContext: atomic_nightly } }]'}${options.stream ? `\n${options.stream(arch)}` : ''}`;
  return `topicPrefix: org.fedoraproject.prod
store: { path: ${join(dir, 'relengd.db')} }
http: { host: 127.0.0.1, port: 0 }
jobs: { workdir: ${join(dir, 'jobs')} }
log: { level: warn }
publishers:
  greenwave.decision.update: [greenwave]
streams:${PUNGI_ARCHES.map(stream).join('')}
`;
}

export function pungiConfig(dir: string, options: Parameters<typeof pungiConfigYaml>[1] = {}): Config {
  return parseConfig(pungiConfigYaml(dir, options), {});
}

/** A `pungi.compose.ostree` body as Pungi sends it (the 2016 Atomic shape). */
export function ostreeMessage(arch: string, commitid: string | null, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    compose_id: NIGHTLY,
    variant: 'Atomic',
    arch,
    ref: nightlyRef(arch),
    commitid,
    location: `https://kojipkgs.example.org/compose/branched/${NIGHTLY}/compose`,
    ...overrides,
  };
}

/** A `pungi.compose.status.change` body. */
export function statusMessage(status: string, composeId = NIGHTLY): Record<string, unknown> {
  return { compose_id: composeId, status, location: `https://kojipkgs.example.org/compose/branched/${composeId}/compose` };
}

let trees = 0;

/**
 * What Pungi's ostree phase leaves in `repo`: a commit of a small tree (written under `treesDir`)
 * carrying Pungi's `version`, on `branch` (bound to it; default the arch's nightly ref), or an
 * orphan bound to nothing, optionally with a `parent`.
 */
export async function pungiCommitIn(repo: OstreeRepo, treesDir: string, arch: string, version: string, opts: { branch?: string; orphan?: boolean; parent?: string } = {}): Promise<string> {
  const tree = join(treesDir, `t${trees++}`);
  mkdirSync(join(tree, 'usr/lib'), { recursive: true });
  writeFileSync(join(tree, 'usr/lib/os-release'), `VERSION="${version}"\nARCH=${arch}\n`);
  const ref = opts.branch ?? nightlyRef(arch);
  return repo.commit({ tree: { dir: tree }, ...(opts.orphan ? { orphan: true } : { branch: ref }), subject: `${ref} ${version}`, metadata: { version }, ...(opts.parent ? { parent: opts.parent } : {}) });
}

/**
 * relengd on the Pungi config, in process, with a real compose repo (`<dir>/compose-repo`, where
 * the test plays Pungi's ostree phase) and public repo (`<dir>/repo`).
 */
export async function startPungiPipeline(dir: string, options: Parameters<typeof pungiConfigYaml>[1] & { yaml?: string } = {}) {
  const compose = openRepo(join(dir, 'compose-repo'));
  const pub = openRepo(join(dir, 'repo'));
  await compose.init('archive');
  await pub.init('archive');
  const transport = new EmbeddedTransport();
  const daemon = await startDaemon({ config: parseConfig(options.yaml ?? pungiConfigYaml(dir, options), { RELENGD_HTTP_PORT: '0' }), logger: silentLogger(), transport, serveHttp: false });
  let n = 0;

  /** Pungi's ostree phase: a commit of `arch` on `ref` (its nightly ref) in the compose repo, bound to it. */
  const pungiCommit = (arch: string, version: string, ref = nightlyRef(arch)): Promise<string> => pungiCommitIn(compose, join(dir, 'trees'), arch, version, { branch: ref });

  /** Delivers one message as a live transport would (another id each time unless given), and waits until everything it caused is done. */
  async function send(topic: string, data: unknown, options: { id?: string; publisher?: string } = {}) {
    const message = { topic: topic.startsWith('org.') ? topic : `org.fedoraproject.prod.${topic}`, id: options.id ?? `msg-${++n}`, time: '2017-07-05T08:00:00+00:00', data, publisher: options.publisher };
    const [outcome] = await transport.inject([{ transport: 'test', source: 'live', raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: message }]);
    await daemon.idle();
    return outcome;
  }

  /** Greenwave passes (or fails) the nightly, as its service user. */
  const greenwave = (satisfied = true) =>
    send('greenwave.decision.update', { decision_context: 'atomic_nightly', subject_type: 'compose', subject_identifier: NIGHTLY, subject: [{ 'productmd.compose.id': NIGHTLY }], policies_satisfied: satisfied, summary: 'tests', unsatisfied_requirements: [] }, { publisher: 'greenwave' });

  const events = (topic: string) => syncStore(daemon.store).events.query({ topic, order: 'asc' }).map((e) => e.envelope.data as Record<string, unknown>);
  return { daemon, compose, pub, pungiCommit, send, greenwave, events };
}
