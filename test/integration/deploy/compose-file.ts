/**
 * deploy/compose/compose.yaml as compose reads it: `${VAR}` interpolation, short-syntax volumes
 * and ports, relative paths resolved against the file's directory.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { deployDir } from './deploy-files.ts';

export const composeDir = join(deployDir, 'compose');
export const composeFile = join(composeDir, 'compose.yaml');

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

export interface ComposeProject {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * Compose's interpolation: `${NAME}`, `${NAME:-default}`, `${NAME:?error}` (fails when unset or
 * empty, as compose does).
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_all, name: string, op: string | undefined, arg: string | undefined) => {
    const value = env[name];
    const unset = value === undefined || (op?.startsWith(':') === true && value === '');
    if (!unset) return value!;
    if (op?.endsWith('?')) throw new Error(`compose: ${name}: ${arg ?? 'not set'}`);
    return op?.endsWith('-') ? (arg ?? '') : '';
  });
}

export function composeProject(env: Record<string, string | undefined>): ComposeProject {
  return parse(interpolate(readFileSync(composeFile, 'utf8'), env)) as ComposeProject;
}

export interface ComposeVolume {
  /** A named volume, or the absolute local path of a bind mount. */
  source: string;
  named: boolean;
  target: string;
  readOnly: boolean;
}

/** Short syntax `source:target[:options]`; a source starting with `.` or `/` is a bind mount. */
export function serviceVolumes(service: ComposeService): ComposeVolume[] {
  return (service.volumes ?? []).map((spec) => {
    const [source, target, options = ''] = spec.split(':');
    if (!source || !target) throw new Error(`compose: not a volume: ${spec}`);
    const named = !/^[./]/.test(source);
    return { source: named ? source : resolve(composeDir, source), named, target, readOnly: options.split(',').includes('ro') };
  });
}

/** Short syntax `[ip:]published:target`. */
export function servicePorts(service: ComposeService): Array<{ ip: string | undefined; published: number; target: number }> {
  return (service.ports ?? []).map((spec) => {
    const parts = spec.split(':');
    const target = Number(parts.pop());
    const published = Number(parts.pop());
    return { ip: parts[0], published, target };
  });
}
