/** `kind: oci` artifacts: where a container image is pushed, and what a group's arches must share. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors.ts';
import { testConfigYaml } from '../../helpers/config.ts';

/** The two-arch test group, each stream with an `oci` artifact whose `oci:` is `oci(arch)` (YAML flow mapping). */
function yaml(oci: (arch: string) => string, extra: (arch: string) => string = () => ''): string {
  return testConfigYaml('/srv/relengd', {
    stream: (arch) => `    artifacts:
      - name: bootc
        kind: oci
        platform: bootc
        format: oci
        output: "{outputDir}/image"
        command: [rpm-ostree, compose, container-encapsulate, "--repo={repo}", "{commit}", "oci:{outputDir}/image"]
        oci: ${oci(arch)}${extra(arch)}`,
  });
}

function problem(text: string): string {
  try {
    parseConfig(text, {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('oci artifacts', () => {
  it('take a repository and default the tags: {version}-{arch} per arch, {version} for the list, verified TLS', () => {
    const config = parseConfig(yaml(() => '{ repository: quay.io/fedora/fedora-bootc, releaseTag: stable }'), {});
    expect(config.streams[0]!.artifacts[0]).toMatchObject({
      kind: 'oci',
      oci: { repository: 'quay.io/fedora/fedora-bootc', tag: '{version}-{arch}', listTag: '{version}', releaseTag: 'stable', tlsVerify: true },
    });
  });

  it('name the registry host: a bare path would silently mean docker.io', () => {
    expect(problem(yaml(() => '{ repository: fedora/bootc }'))).toContain('streams[0].artifacts[0].oci.repository: "fedora" is not a registry host');
    expect(problem(yaml(() => '{ repository: "quay.io/fedora/bootc:41" }'))).toContain('oci.repository: expected host[:port]/path');
    expect(problem(yaml(() => '{ repository: quay.io/Fedora/bootc }'))).toContain('oci.repository: expected host[:port]/path with lower-case path components');
  });

  it('need a per-arch tag that tells the arches apart, and tag-safe text around the placeholders', () => {
    expect(problem(yaml(() => '{ repository: quay.io/f/b, tag: "{version}" }'))).toContain('streams[1].artifacts[0].oci.tag: is the tag of streams[0] too: the arches of a group push their images under different tags (use {arch})');
    expect(problem(yaml(() => '{ repository: quay.io/f/b, listTag: "{version}-{arch}" }'))).toContain('oci.listTag: unknown placeholder {arch}');
    expect(problem(yaml(() => '{ repository: quay.io/f/b, tag: "{version}+{arch}" }'))).toContain('oci.tag: besides placeholders, only letters, digits and _.-');
    expect(problem(yaml(() => '{ repository: quay.io/f/b, releaseTag: "-stable" }'))).toContain('oci.releaseTag: must be a tag');
    expect(problem(yaml(() => '{ repository: quay.io/f/b, listTag: stable, releaseTag: stable }'))).toContain('oci.releaseTag: must differ from listTag');
  });

  it('turn TLS verification off only for a registry on this machine', () => {
    expect(parseConfig(yaml(() => '{ repository: "127.0.0.1:5000/os", tlsVerify: false }'), {}).streams[0]!.artifacts[0]!.oci?.tlsVerify).toBe(false);
    expect(parseConfig(yaml(() => '{ repository: "localhost:5000/os", tlsVerify: false }'), {}).streams[0]!.artifacts[0]!.oci?.tlsVerify).toBe(false);
    expect(problem(yaml(() => '{ repository: registry.example.org/os, tlsVerify: false }'))).toContain('oci.tlsVerify: registry.example.org is not a loopback address');
  });

  it('go with kind oci and only with it', () => {
    expect(problem(yaml(() => '{ repository: quay.io/f/b }').replaceAll('kind: oci', 'kind: image'))).toContain('artifacts[0].oci: only kind oci is pushed to a registry');
    expect(problem(yaml(() => '{ repository: quay.io/f/b }').replaceAll(/\n\s+oci: \{[^\n]*/g, ''))).toContain('artifacts[0].oci: kind oci needs oci');
  });

  it('are on every stream of a group, sharing all but the per-arch tag: one manifest list over all arches', () => {
    const perArchTag = parseConfig(yaml((arch) => `{ repository: quay.io/f/b, tag: "${arch}-{version}{arch}" }`), {});
    expect(perArchTag.streams.map((s) => s.artifacts[0]!.oci?.tag)).toEqual(['x86_64-{version}{arch}', 'aarch64-{version}{arch}']);
    // `arches:` writes the arch into the tag itself: still one tag per arch.
    const expanded = parseConfig(yaml((arch) => `{ repository: quay.io/f/b, tag: "{version}-${arch}" }`), {});
    expect(expanded.streams.map((s) => s.artifacts[0]!.oci?.tag)).toEqual(['{version}-x86_64', '{version}-aarch64']);
    expect(problem(yaml((arch) => `{ repository: quay.io/f/${arch} }`))).toContain('streams[1].artifacts[0].oci: differs from streams[0].artifacts[0] of group "f26-atomic-host"');
    const onlyOnX86 = yaml(() => '{ repository: quay.io/f/b }').replace(/(arch: aarch64[\s\S]*?)name: bootc/, '$1name: other');
    expect(problem(onlyOnX86)).toContain('has no oci artifact "bootc", which other streams of group "f26-atomic-host" have');
  });
});
