/** The CoreOS-shaped stream metadata with container images: each arch's image under `images`, by digest. */
import { describe, expect, it } from 'vitest';
import { streamMetadata } from '../../../src/jobs/executors/stream-metadata.ts';

const REPOSITORY = 'quay.io/fedora/fedora-bootc';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const qcow2 = (arch: string) => ({ name: 'qcow2', kind: 'image' as const, platform: 'qemu', format: 'qcow2', path: `/jobs/${arch}/out/f.qcow2`, sha256: 'e'.repeat(64), size: 10 });
const bootc = (c: string) => ({ name: 'bootc', kind: 'oci' as const, platform: 'bootc', format: 'oci', path: `${REPOSITORY}@${digest(c)}`, sha256: c.repeat(64), size: 20 });

function metadata(images?: Array<{ name: string; repository: string; tag: string }>) {
  return streamMetadata({
    stream: 'f41-bootc',
    version: '41.20261126.0',
    generatedAt: '2026-11-26T12:00:00.000Z',
    generator: 'relengd (test)',
    baseUrl: 'https://example.org/pub/41/',
    targets: [
      { arch: 'x86_64', ref: 'fedora/41/x86_64/bootc', to: 'a'.repeat(64), artifacts: [qcow2('x86_64'), bootc('1')] },
      { arch: 'aarch64', ref: 'fedora/41/aarch64/bootc', to: 'b'.repeat(64), artifacts: [qcow2('aarch64'), bootc('2')] },
    ],
    ...(images ? { images } : {}),
  }) as { architectures: Record<string, Record<string, unknown>> };
}

describe('stream metadata with container images', () => {
  it("lists each arch's image as CoreOS lists kubevirt's: the release tag to follow and the arch's image by digest", () => {
    const m = metadata([{ name: 'bootc', repository: REPOSITORY, tag: 'stable' }]);
    expect(m.architectures.x86_64!.images).toEqual({ bootc: { release: '41.20261126.0', image: `${REPOSITORY}:stable`, 'digest-ref': `${REPOSITORY}@${digest('1')}` } });
    expect(m.architectures.aarch64!.images).toEqual({ bootc: { release: '41.20261126.0', image: `${REPOSITORY}:stable`, 'digest-ref': `${REPOSITORY}@${digest('2')}` } });
    // An image is not a download: it is not among the disk artifacts.
    expect(m.architectures.x86_64!.artifacts).toEqual({ qemu: { release: '41.20261126.0', formats: { qcow2: { disk: { location: 'https://example.org/pub/41/41.20261126.0/x86_64/f.qcow2', sha256: 'e'.repeat(64) } } } } });
  });

  it('names no tag for an image promotion did not move, and has no images key without images', () => {
    expect(metadata().architectures.x86_64!.images).toEqual({ bootc: { release: '41.20261126.0', 'digest-ref': `${REPOSITORY}@${digest('1')}` } });
    const plain = streamMetadata({ stream: 's', version: '1', generatedAt: 't', generator: 'g', baseUrl: null, targets: [{ arch: 'x86_64', ref: 'r', to: 'a'.repeat(64), artifacts: [qcow2('x86_64')] }] }) as { architectures: Record<string, Record<string, unknown>> };
    expect(plain.architectures.x86_64).not.toHaveProperty('images');
  });
});
