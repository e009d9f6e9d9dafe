#!/usr/bin/env node
/**
 * A stand-in for `rpm-ostree compose tree` (which needs root, dnf repos and an hour): it takes the
 * same arguments relengd passes, builds a small root filesystem from the treefile and the mashed
 * updates repo, and makes a real OSTree commit on the treefile's ref, bound to it, like
 * rpm-ostree does. Same inputs as the previous commit: no commit, no commit-id file, no stamp.
 *
 *   standin-compose.ts --repo=R --write-commitid-to=F --touch-if-changed=S
 *                      [--add-metadata-string=K=V]... [--delay-seconds=N] TREEFILE
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { openRepo } from '../../ostree/index.ts';

const Treefile = z.looseObject({ ref: z.string(), packages: z.array(z.string()), repos: z.array(z.string()).default([]) });
const UpdatesRepo = z.object({ packages: z.array(z.string()) });

function parseArgs(argv: string[]) {
  const options = new Map<string, string[]>();
  const positional: string[] = [];
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/s.exec(arg);
    if (m) options.set(m[1]!, [...(options.get(m[1]!) ?? []), m[2]!]);
    else positional.push(arg);
  }
  const one = (name: string): string | undefined => options.get(name)?.at(-1);
  const treefile = positional[0];
  const repo = one('repo');
  if (!treefile || !repo) throw new Error('usage: standin-compose --repo=R [--write-commitid-to=F] [--touch-if-changed=S] TREEFILE');
  const metadata = Object.fromEntries((options.get('add-metadata-string') ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { treefile: resolve(treefile), repo, commitIdFile: one('write-commitid-to'), changedStamp: one('touch-if-changed'), metadata, delaySeconds: Number(one('delay-seconds') ?? 0) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const treefile = Treefile.parse(JSON.parse(readFileSync(args.treefile, 'utf8')));
  // Repos are JSON files beside the treefile, as the demo's "Bodhi" writes them.
  const updates = treefile.repos.flatMap((name) => UpdatesRepo.parse(JSON.parse(readFileSync(join(dirname(args.treefile), `${name}.json`), 'utf8'))).packages);
  const packages = [...new Set([...treefile.packages, ...updates])].sort();
  const inputHash = createHash('sha256').update(JSON.stringify({ ref: treefile.ref, packages })).digest('hex');

  const repo = openRepo(args.repo);
  const previous = await repo.revParse(treefile.ref);
  if (previous && (await repo.metadata(previous, 'rpmostree.inputhash')) === inputHash) {
    console.log('No apparent changes since previous commit; use --force-nocache to override');
    return;
  }
  if (args.delaySeconds > 0) await new Promise((r) => setTimeout(r, args.delaySeconds * 1000));

  const root = mkdtempSync(join(tmpdir(), 'standin-rootfs-'));
  try {
    const version = args.metadata.version ?? '0';
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    mkdirSync(join(root, 'usr/share/rpm'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/os-release'), `NAME="Fedora"\nVERSION="${version} (Atomic Host)"\nID=fedora\nVARIANT_ID=atomic.host\n`);
    writeFileSync(join(root, 'usr/share/rpm/packages.txt'), `${packages.join('\n')}\n`);
    const commit = await repo.commit({
      tree: { dir: root },
      branch: treefile.ref,
      subject: `${treefile.ref} ${version}`,
      metadata: { ...args.metadata, 'rpmostree.inputhash': inputHash },
    });
    console.log(`Wrote commit: ${commit}`);
    if (args.commitIdFile) writeFileSync(args.commitIdFile, commit);
    if (args.changedStamp) writeFileSync(args.changedStamp, '');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
