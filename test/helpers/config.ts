import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config/index.ts';

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
store: { path: ${join(dir, 'relengd.db')} }
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
