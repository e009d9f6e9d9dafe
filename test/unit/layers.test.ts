/**
 * The layers of DESIGN.md ("each folder is one layer; imports only point down this list"), checked
 * on every import in src/: a file that reaches up (the store deciding about pipeline state, the
 * config importing the HTTP server's rules) fails here with the import named.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Top to bottom, as DESIGN.md lists them. Files at the root of src/ not named here (clock, errors, log, retry, system-tools) are shared by all. */
const LAYERS = ['cli', 'http', 'bus', 'pipeline', 'jobs', 'ostree', 'registry', 'store', 'events', 'config', 'trust'] as const;

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function layerOf(path: string): number {
  const [top] = relative(SRC, path).split(sep);
  return LAYERS.indexOf(top!.replace(/\.ts$/, '') as (typeof LAYERS)[number]);
}

/** Relative imports and re-exports of a file, static and dynamic. */
function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specifiers.map((s) => normalize(join(dirname(path), s)));
}

describe('layers', () => {
  it('every import in src/ points down the list of layers (or to a shared file at the root)', () => {
    const upward: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = layerOf(file);
      if (from === -1) continue;
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (to !== -1 && to < from) upward.push(`${relative(SRC, file)} (${LAYERS[from]}) imports ${relative(SRC, target)} (${LAYERS[to]})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('finds an upward import when there is one (the check itself works)', () => {
    // The pipeline's retention reads listener state: were it in store/, it would reach up.
    const retention = join(SRC, 'pipeline', 'retention.ts');
    const asIfInStore = importsOf(retention).map((target) => ({ from: layerOf(join(SRC, 'store', 'retention.ts')), to: layerOf(target) }));
    expect(asIfInStore.some(({ from, to }) => to !== -1 && to < from)).toBe(true);
  });
});
