import { describe, expect, it } from 'vitest';
import { configProblems, parseConfig } from '../../../src/config/index.ts';

const group = (extra = '') => `
streams:
  - id: fedora-iot
    group: fedora-iot-rawhide
    release: rawhide
    arches: [x86_64, aarch64, ppc64le]${extra}
    triggers: { tags: [f45] }
    ostree:
      repo: /srv/ostree/iot
      ref: fedora/rawhide/{arch}/iot
      treefile: /srv/workdir/fedora-iot-{arch}.yaml
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "--write-commitid-to={commitIdFile}", "{treefile}"]
    promote:
      ref: fedora/rawhide/{arch}/iot-stable
`;

describe('arches: a group declared once', () => {
  it('becomes one stream per arch, {arch} filled in, the arch appended to the id', () => {
    const config = parseConfig(group(), {});
    expect(config.streams.map((s) => [s.id, s.group, s.arch, s.ostree.ref, s.ostree.treefile, s.promote?.ref])).toEqual([
      ['fedora-iot-x86_64', 'fedora-iot-rawhide', 'x86_64', 'fedora/rawhide/x86_64/iot', '/srv/workdir/fedora-iot-x86_64.yaml', 'fedora/rawhide/x86_64/iot-stable'],
      ['fedora-iot-aarch64', 'fedora-iot-rawhide', 'aarch64', 'fedora/rawhide/aarch64/iot', '/srv/workdir/fedora-iot-aarch64.yaml', 'fedora/rawhide/aarch64/iot-stable'],
      ['fedora-iot-ppc64le', 'fedora-iot-rawhide', 'ppc64le', 'fedora/rawhide/ppc64le/iot', '/srv/workdir/fedora-iot-ppc64le.yaml', 'fedora/rawhide/ppc64le/iot-stable'],
    ]);
    // Placeholders the job fills in stay usable in commands.
    expect(config.streams[0]!.ostree.compose).toContain('--repo={repo}');
  });

  it('is the same configuration as the three streams written out', () => {
    const written = `
streams:${['x86_64', 'aarch64', 'ppc64le']
      .map(
        (arch) => `
  - id: fedora-iot-${arch}
    group: fedora-iot-rawhide
    release: rawhide
    arch: ${arch}
    triggers: { tags: [f45] }
    ostree:
      repo: /srv/ostree/iot
      ref: fedora/rawhide/${arch}/iot
      treefile: /srv/workdir/fedora-iot-${arch}.yaml
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "--write-commitid-to={commitIdFile}", "{treefile}"]
    promote: { ref: fedora/rawhide/${arch}/iot-stable }`,
      )
      .join('')}
`;
    expect(parseConfig(group(), {})).toEqual(parseConfig(written, {}));
  });

  it('a problem in one arch is reported at the entry in the file, naming the arch', () => {
    const problems = configProblems(group().replace('fedora/rawhide/{arch}/iot-stable', 'fedora/rawhide/{arch}/iot'), {}, 'iot.yaml');
    expect(problems.map((p) => p.keyPath)).toContain('streams[0].promote.ref');
    expect(problems[0]!.message).toContain('(for arch x86_64)');
    expect(problems[0]!.message).toMatch(/iot\.yaml:\d+:\d+/);
  });

  it('refuses arch and arches together, an empty list and an arch listed twice', () => {
    expect(configProblems(group('\n    arch: x86_64'), {}).map((p) => [p.keyPath, p.message.replace(/ \(<config>.*$/, '')])).toEqual([
      ['streams[0].arches', 'streams[0].arches: give arch (one stream) or arches (one stream per arch), not both'],
    ]);
    expect(configProblems(group().replace('[x86_64, aarch64, ppc64le]', '[]'), {})[0]!.message).toContain('must not be empty');
    expect(configProblems(group().replace('[x86_64, aarch64, ppc64le]', '[x86_64, x86_64]'), {})[0]!.message).toContain('lists an arch twice');
    expect(configProblems(group().replace('[x86_64, aarch64, ppc64le]', '["x86 64"]'), {})[0]!.keyPath).toBe('streams[0].arches[0]');
  });
});
