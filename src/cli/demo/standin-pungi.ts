/**
 * A stand-in for Pungi's ostree phase (which runs `rpm-ostree compose tree` in a Koji runroot for
 * an hour): a real OSTree commit on the nightly's ref in the compose repository, bound to that ref
 * as rpm-ostree binds it, carrying the version Pungi gives it. Doing it again for the same version
 * finds the commit already there and makes none.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openRepo } from '../../ostree/index.ts';

export interface PungiCommitPlan {
  /** The compose repository (`/mnt/koji/compose/atomic/27/`). */
  repo: string;
  ref: string;
  arch: string;
  /** The `version` metadata, as Pungi's ostree phase sets it (`27.20170820.n.0`). */
  version: string;
}

/** The commit of `plan.ref` at `plan.version` in the compose repository: made now, or found from an earlier run. */
export async function pungiOstreePhase(plan: PungiCommitPlan): Promise<string> {
  const repo = openRepo(plan.repo);
  if (!repo.exists()) {
    mkdirSync(dirname(repo.path), { recursive: true });
    await repo.init('archive');
  }
  const head = await repo.revParse(plan.ref);
  if (head && (await repo.metadata(head, 'version')) === plan.version) return head;
  const root = mkdtempSync(join(tmpdir(), 'standin-pungi-'));
  try {
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/os-release'), `NAME="Fedora"\nVERSION="${plan.version} (Atomic Host)"\nID=fedora\nVARIANT_ID=atomic.host\n`);
    writeFileSync(join(root, 'usr/lib/arch'), `${plan.arch}\n`);
    return await repo.commit({ tree: { dir: root }, branch: plan.ref, subject: `${plan.ref} ${plan.version}`, metadata: { version: plan.version } });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
