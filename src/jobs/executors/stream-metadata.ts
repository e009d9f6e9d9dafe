import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { PromoteTarget } from '../specs.ts';

/**
 * The stream metadata download pages and installers read, in Fedora CoreOS's stream-metadata
 * shape (`architectures.<arch>.artifacts.<platform>.formats.<format>.disk`), plus each arch's
 * OSTree ref and commit under `architectures.<arch>.ostree`.
 */
export function streamMetadata(input: {
  stream: string;
  version: string;
  generatedAt: string;
  generator: string;
  baseUrl: string | null;
  targets: ReadonlyArray<Pick<PromoteTarget, 'arch' | 'ref' | 'artifacts'> & { to: string }>;
}): Record<string, unknown> {
  const architectures: Record<string, unknown> = {};
  for (const t of input.targets) {
    const artifacts: Record<string, { release: string; formats: Record<string, { disk: { location: string; sha256: string } }> }> = {};
    for (const a of t.artifacts) {
      const platform = (artifacts[a.platform] ??= { release: input.version, formats: {} });
      platform.formats[a.format] = { disk: { location: locationOf(input.baseUrl, input.version, t.arch, a.path), sha256: a.sha256 } };
    }
    architectures[t.arch] = { artifacts, ostree: { ref: t.ref, commit: t.to, version: input.version } };
  }
  return { stream: input.stream, metadata: { 'last-modified': input.generatedAt, generator: input.generator }, architectures };
}

/** Where a synced artifact will be served: `<baseUrl><version>/<arch>/<file>`; the local path when no baseUrl. */
function locationOf(baseUrl: string | null, version: string, arch: string, path: string): string {
  if (!baseUrl) return path;
  return `${baseUrl.replace(/\/?$/, '/')}${version}/${arch}/${basename(path)}`;
}

/** Writes JSON so readers never see half a file (write a sibling, then rename over). */
export function writeJsonAtomically(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}
