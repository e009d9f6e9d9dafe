#!/usr/bin/env node
/**
 * A stand-in for `rpm-ostree compose container-encapsulate` (or `ostree container encapsulate`):
 * turns a commit into a real OCI image in an OCI layout directory, where the real tool would. Its
 * one layer is the commit's tree (`ostree export`), its config names the arch and carries the
 * `ostree.commit` label, as ostree-native containers do. Not bootable by bootc (no ostree repo
 * inside), but a real image that registries, skopeo and manifest lists treat as any other.
 *
 *   standin-oci.ts --repo=R --commit=C --arch=x86_64 --out=DIR [--fail]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { openRepo } from '../../ostree/index.ts';
import { buildImageFromLayer, ociArchitecture } from '../../registry/index.ts';

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const repoPath = option('repo');
const commit = option('commit');
const arch = option('arch');
const out = option('out');
if (!repoPath || !commit || !arch || !out) {
  console.error('usage: standin-oci --repo=R --commit=C --arch=ARCH --out=DIR [--fail]');
  process.exit(2);
}
if (process.argv.includes('--fail')) {
  console.error(`error: image build for ${arch} failed (the stand-in was told to fail)`);
  process.exit(1);
}

const repo = openRepo(repoPath);
const entry = await repo.show(commit);
const scratch = mkdtempSync(join(tmpdir(), 'standin-oci-'));
try {
  const layerTar = join(scratch, 'layer.tar');
  await repo.exportTar(commit, layerTar);
  mkdirSync(dirname(resolve(out)), { recursive: true });
  await buildImageFromLayer({
    layoutDir: resolve(out),
    layerTar,
    architecture: ociArchitecture(arch),
    labels: { 'ostree.commit': commit, ...(entry.version ? { 'org.opencontainers.image.version': entry.version } : {}) },
    // The commit's time, not now: the same commit makes the same image.
    created: entry.date,
    createdBy: `ostree export ${commit}`,
  });
  console.log(`wrote the ${arch} image of ${commit} to ${out}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
