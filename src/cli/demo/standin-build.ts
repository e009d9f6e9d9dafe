#!/usr/bin/env node
/**
 * A stand-in for lorax and `koji image-build`: writes a real artifact file derived from the commit
 * (the listing of its tree), where the real builder would write the ISO or the qcow2.
 *
 *   standin-build.ts --repo=R --commit=C --kind=installer|image --out=PATH [--fail]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { execFileSync } from 'node:child_process';

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const repo = option('repo');
const commit = option('commit');
const out = option('out');
const kind = option('kind') ?? 'image';
if (!repo || !commit || !out) {
  console.error('usage: standin-build --repo=R --commit=C --kind=installer|image --out=PATH [--fail]');
  process.exit(2);
}
if (process.argv.includes('--fail')) {
  console.error(`error: ${kind} build failed (the stand-in was told to fail)`);
  process.exit(1);
}
const listing = execFileSync('ostree', [`--repo=${repo}`, 'ls', '-R', commit], { encoding: 'utf8' });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `relengd stand-in ${kind} for commit ${commit}\n${listing}`);
console.log(`wrote ${out}`);
