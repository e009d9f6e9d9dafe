/**
 * Reading manifests as docker-registry 2.8 served them (recorded bytes from `skopeo inspect --raw`),
 * image references, and arch names.
 */
import { describe, expect, it } from 'vitest';
import { digestReference, parseDigestReference, registryHost, repositoryProblem } from '../../../src/config/image-reference.ts';
import { imageDigestOf } from '../../../src/events/relengd/artifact.ts';
import { MEDIA_TYPES, ManifestParseError, imageSize, manifestDigest, ociArchitecture, parseManifest } from '../../../src/registry/index.ts';

/** An image umoci built (one layer; umoci ends its JSON with a newline), pushed with skopeo: its digest is sha256:663e20bb…. */
const IMAGE =
  '{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:063555924a755518f5ff07195f156c806158334730df43034d3c28753de7d495","size":525},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:93fba3ab855fe47ab17eab3423c83907e9b34cfd7b0207bc5bc1b776260f98dd","size":214}]}\n';

/** The OCI index `buildah manifest push --all --format=oci` wrote over amd64 and arm64: sha256:7972131b…. */
const INDEX =
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:663e20bb08260a206987144a56e61202708bfa0f1f70b7afa4ba7d301deaf213","size":345,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:05379c18b3a896a0f64d6dbdc23ed1b2e2248ee55ead3c8db4af4e2842570c32","size":345,"platform":{"architecture":"arm64","os":"linux"}}]}';

describe('manifests', () => {
  it('names an image by the SHA-256 of the bytes served, and sizes it by config and layers', () => {
    const image = parseManifest(Buffer.from(IMAGE));
    expect(image).toMatchObject({ kind: 'image', digest: 'sha256:663e20bb08260a206987144a56e61202708bfa0f1f70b7afa4ba7d301deaf213' });
    expect(image.kind === 'image' && imageSize(image)).toBe(525 + 214);
  });

  it('reads an OCI index: one entry per arch, by digest and platform', () => {
    const index = parseManifest(Buffer.from(INDEX));
    expect(index).toMatchObject({ kind: 'index', digest: 'sha256:7972131bd1a4e11326673733d23a26543d0103f0c04a049de3b6d1a50e923ac3', mediaType: MEDIA_TYPES.ociIndex });
    expect(index.kind === 'index' && index.manifests.map((m) => [m.platform?.architecture, m.digest.slice(7, 15)])).toEqual([
      ['amd64', '663e20bb'],
      ['arm64', '05379c18'],
    ]);
  });

  it('hashes the bytes as served: the same JSON written differently is another manifest', () => {
    expect(manifestDigest(Buffer.from(INDEX))).not.toBe(manifestDigest(Buffer.from(JSON.stringify(JSON.parse(INDEX), null, 2))));
  });

  it('refuses what it cannot read: not JSON, schema 1, neither image nor index', () => {
    expect(() => parseManifest(Buffer.from('<html>'))).toThrow(ManifestParseError);
    expect(() => parseManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'))).toThrow('not a schema 2 manifest');
    expect(() => parseManifest(Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}'))).toThrow('neither an image nor an index');
  });
});

describe('image references', () => {
  it.each(['quay.io/fedora/fedora-bootc', '127.0.0.1:5000/os', 'localhost/os', 'registry.example.org:443/a/b_c/d-e', '[::1]:5000/os'])('%s is a repository', (r) => expect(repositoryProblem(r)).toBeUndefined());
  it.each(['fedora/os', 'os', 'quay.io', 'quay.io/Fedora', 'quay.io/os:tag', 'quay.io/os@sha256:ab', '-x.io/os', 'quay.io//os', 'quay.io/os/'])('%s is not', (r) => expect(repositoryProblem(r)).toBeDefined());

  it('finds the registry host without port or brackets, and reads a digest reference back', () => {
    expect(registryHost('127.0.0.1:5000/os')).toBe('127.0.0.1');
    expect(registryHost('[::1]:5000/os')).toBe('::1');
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseDigestReference(digestReference('quay.io/f/os', d))).toEqual({ repository: 'quay.io/f/os', digest: d });
    expect(parseDigestReference('quay.io/f/os:stable')).toBeNull();
  });

  it("an oci artifact's digest: its own, or its sha256 where a summary kept only the common fields", () => {
    expect(imageDigestOf({ kind: 'oci', sha256: 'b'.repeat(64) })).toBe(`sha256:${'b'.repeat(64)}`);
    expect(imageDigestOf({ kind: 'oci', sha256: 'b'.repeat(64), digest: `sha256:${'b'.repeat(64)}` })).toBe(`sha256:${'b'.repeat(64)}`);
    expect(imageDigestOf({ kind: 'image', sha256: 'b'.repeat(64) })).toBeNull();
  });
});

describe('architectures', () => {
  it.each([
    ['x86_64', 'amd64'],
    ['aarch64', 'arm64'],
    ['ppc64le', 'ppc64le'],
    ['s390x', 's390x'],
    ['amd64', 'amd64'],
  ])('%s is %s in an image', (arch, oci) => expect(ociArchitecture(arch)).toBe(oci));
});
