/**
 * `arches: [x86_64, aarch64, ppc64le]` on a stream entry: one stream per arch, declared once.
 *
 * Expanded before validation, so each arch's stream is checked exactly like a hand-written one;
 * `{arch}` in any string of the entry becomes the arch (in the ref, the repo, the treefile, the
 * promote ref; in a command it is the same value the job would have put there), and an id without
 * `{arch}` gets `-<arch>` appended. Problems are reported at the entry in the file, with its arch.
 */
import { z } from 'zod';

/** Where an expanded stream came from: its index in the file, and the arch it was made for. */
export interface StreamOrigin {
  index: number;
  arch: string | undefined;
}

export interface ExpandedStreams {
  /** The configuration with each `arches` entry replaced by one entry per arch. */
  data: unknown;
  /** For each stream of the expanded list, where it came from; empty when nothing was expanded. */
  origins: StreamOrigin[];
  problems: Array<{ path: (string | number)[]; message: string }>;
}

const ARCH = /^[a-z0-9][a-z0-9._-]*$/;

const ArchesEntry = z.looseObject({
  arches: z
    .array(z.string().regex(ARCH, 'must match [a-z0-9][a-z0-9._-]* (an architecture such as x86_64)'))
    .min(1, 'must not be empty')
    .refine((arches) => new Set(arches).size === arches.length, 'lists an arch twice'),
});

export function expandArches(data: unknown): ExpandedStreams {
  const streams = isRecord(data) ? data.streams : undefined;
  if (!Array.isArray(streams) || !streams.some((s) => isRecord(s) && 'arches' in s)) return { data, origins: [], problems: [] };

  const origins: StreamOrigin[] = [];
  const problems: ExpandedStreams['problems'] = [];
  const expanded: unknown[] = [];
  for (const [index, entry] of streams.entries()) {
    if (!isRecord(entry) || !('arches' in entry)) {
      expanded.push(entry);
      origins.push({ index, arch: undefined });
      continue;
    }
    if ('arch' in entry) {
      problems.push({ path: ['streams', index, 'arches'], message: 'give arch (one stream) or arches (one stream per arch), not both' });
      continue;
    }
    const parsed = ArchesEntry.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push({ path: ['streams', index, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message });
      continue;
    }
    const template: Record<string, unknown> = { ...entry };
    delete template.arches;
    for (const arch of parsed.data.arches) {
      const stream = substituteArch(template, arch) as Record<string, unknown>;
      if (typeof template.id === 'string' && !template.id.includes('{arch}')) stream.id = `${template.id}-${arch}`;
      expanded.push({ ...stream, arch });
      origins.push({ index, arch });
    }
  }
  return { data: { ...(data as Record<string, unknown>), streams: expanded }, origins, problems };
}

/** The key path of a problem found in the expanded list, pointed back at the entry in the file. */
export function originalPath(path: readonly PropertyKey[], origins: readonly StreamOrigin[]): { path: PropertyKey[]; arch: string | undefined } {
  if (origins.length === 0 || path[0] !== 'streams' || typeof path[1] !== 'number') return { path: [...path], arch: undefined };
  const origin = origins[path[1]];
  if (origin === undefined) return { path: [...path], arch: undefined };
  // `arch` itself was written by the expansion: a problem with it is a problem with the list.
  const rest = origin.arch !== undefined && path[2] === 'arch' ? ['arches'] : path.slice(2);
  return { path: ['streams', origin.index, ...rest], arch: origin.arch };
}

function substituteArch(value: unknown, arch: string): unknown {
  if (typeof value === 'string') return value.replaceAll('{arch}', arch);
  if (Array.isArray(value)) return value.map((v) => substituteArch(v, arch));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteArch(v, arch)]));
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
