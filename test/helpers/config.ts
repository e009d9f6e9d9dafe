import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config/index.ts';

/** YAML for a two-arch f26 Atomic Host group fed by f26-updates, with its store under `dir`. */
export function testConfigYaml(dir: string, extra = ''): string {
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
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "--write-commitid-to={commitIdFile}", "{treefile}"]`;
  return `topicPrefix: org.fedoraproject.prod
store: { path: ${join(dir, 'relengd.db')} }
http: { host: 127.0.0.1, port: 0 }
jobs: { workdir: ${join(dir, 'jobs')} }
log: { level: warn }
${extra}
streams:${stream('x86_64')}${stream('aarch64')}
`;
}

export function testConfig(dir: string, extra = ''): Config {
  return parseConfig(testConfigYaml(dir, extra), {});
}
