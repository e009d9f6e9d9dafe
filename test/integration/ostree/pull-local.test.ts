/**
 * OstreeRepo.pullLocal against the real `ostree` CLI: a commit Pungi made in its compose repository
 * copied into the public one, as promotion from a compose repository does.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommitNotFoundError, openRepo, type OstreeRepo } from '../../../src/ostree/index.ts';

const REF = 'fedora/26/x86_64/testing/atomic-host';

let tmp: string;
let compose: OstreeRepo;
let pub: OstreeRepo;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-pull-local-'));
  compose = openRepo(join(tmp, 'compose'));
  pub = openRepo(join(tmp, 'public'));
  await compose.init('archive');
  await pub.init('archive');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

async function nightly(n: number): Promise<string> {
  const dir = join(tmp, 'trees', String(n));
  mkdirSync(join(dir, 'usr/lib'), { recursive: true });
  writeFileSync(join(dir, 'usr/lib/os-release'), `VERSION="26.${n}"\n`);
  writeFileSync(join(dir, `usr/lib/file-${n}`), 'x'.repeat(n));
  return compose.commit({ tree: { dir }, branch: REF, subject: `nightly ${n}`, metadata: { version: `26.${n}` } });
}

describe('pullLocal', () => {
  it("copies the commit and its tree, but no ref and none of its history", async () => {
    const first = await nightly(1);
    const second = await nightly(2);
    await pub.pullLocal(compose, second);

    expect(await pub.hasCommit(second)).toBe(true);
    expect(await pub.metadata(second, 'version')).toBe('26.2');
    expect(await pub.refs()).toEqual([]);
    expect(await pub.hasCommit(first)).toBe(false);
    // Its parent is still named, so an ancestry check sees one step back.
    expect(await pub.isAncestor(first, second)).toBe(true);
    // The tree is whole: a ref can point at it and a commit can reuse it.
    await pub.setRef('fedora/26/x86_64/atomic-host', second);
    const rebound = await pub.commit({ tree: { commit: second }, orphan: true, subject: 'release', bindRefs: ['fedora/26/x86_64/atomic-host'] });
    expect(await pub.sameTree(rebound, second)).toBe(true);
  });

  it('pulling the same commit again changes nothing', async () => {
    const commit = await nightly(1);
    await pub.pullLocal(compose, commit);
    await pub.pullLocal(compose, commit);
    expect(await pub.hasCommit(commit)).toBe(true);
  });

  it('refuses a commit the source does not hold, naming the source, and pulls nothing', async () => {
    await nightly(1);
    const missing = 'f'.repeat(64);
    const error = await pub.pullLocal(compose, missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitNotFoundError);
    expect((error as Error).message).toBe(`commit ${missing} is not in the repository ${compose.path}`);
  });
});
