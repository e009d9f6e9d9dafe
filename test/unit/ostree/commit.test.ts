/**
 * The `ostree commit` argv builder and the argument checks behind it: pure, no ostree needed.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidRefError } from '../../../src/errors.ts';
import { commitArgs } from '../../../src/ostree/commit.ts';
import { InvalidChecksumError, InvalidOstreeArgumentError } from '../../../src/ostree/errors.ts';

const C = 'b8dff582d16c2535392dd925df5fba21a808789e01075b6df087012417767c89';

describe('commitArgs', () => {
  it('turns every option into one argv element, in a fixed order', () => {
    expect(
      commitArgs({
        tree: { dir: 'rootfs' },
        branch: 'fedora/26/x86_64/atomic-host',
        subject: 'x; rm -rf / "quoted"',
        body: 'line 1\nline 2',
        parent: C,
        bindRefs: ['fedora/stable'],
        metadata: { version: '26.100', 'rpmostree.inputhash': 'a=b' },
        timestamp: '2026-11-26T10:00:00Z',
      }),
    ).toEqual([
      `--tree=dir=${resolve('rootfs')}`,
      '--branch=fedora/26/x86_64/atomic-host',
      '--subject=x; rm -rf / "quoted"',
      '--body=line 1\nline 2',
      `--parent=${C}`,
      '--bind-ref=fedora/stable',
      '--add-metadata-string=version=26.100',
      '--add-metadata-string=rpmostree.inputhash=a=b',
      '--timestamp=2026-11-26T10:00:00Z',
    ]);
  });

  it('commits the tree of a ref or a commit with --tree=ref=, and an orphan with --orphan', () => {
    expect(commitArgs({ tree: { ref: 'fedora/testing' }, orphan: true, subject: 's' })).toEqual(['--tree=ref=fedora/testing', '--orphan', '--subject=s']);
    expect(commitArgs({ tree: { commit: C }, orphan: true, subject: 's', parent: 'none' })).toEqual([`--tree=ref=${C}`, '--orphan', '--subject=s', '--parent=none']);
  });

  it('requires exactly one of branch and orphan', () => {
    expect(() => commitArgs({ tree: { dir: '/t' }, subject: 's' })).toThrow(InvalidOstreeArgumentError);
    expect(() => commitArgs({ tree: { dir: '/t' }, subject: 's', branch: 'a', orphan: true })).toThrow(InvalidOstreeArgumentError);
  });

  it('requires exactly one kind of tree', () => {
    expect(() => commitArgs({ tree: { dir: '/t', ref: 'a' } as unknown as { dir: string }, orphan: true, subject: 's' })).toThrow(InvalidOstreeArgumentError);
    expect(() => commitArgs({ tree: {} as { dir: string }, orphan: true, subject: 's' })).toThrow(InvalidOstreeArgumentError);
  });

  it('validates refs, checksums, metadata keys, timestamps and NUL bytes', () => {
    const base = { tree: { dir: '/t' }, orphan: true, subject: 's' } as const;
    expect(() => commitArgs({ ...base, bindRefs: ['../etc'] })).toThrow(InvalidRefError);
    expect(() => commitArgs({ tree: { ref: '-rf' }, orphan: true, subject: 's' })).toThrow(InvalidRefError);
    expect(() => commitArgs({ tree: { commit: 'abc' }, orphan: true, subject: 's' })).toThrow(InvalidChecksumError);
    expect(() => commitArgs({ ...base, parent: 'HEAD' })).toThrow(InvalidChecksumError);
    expect(() => commitArgs({ ...base, metadata: { 'a=b': 'x' } })).toThrow(InvalidOstreeArgumentError);
    expect(() => commitArgs({ ...base, metadata: { '': 'x' } })).toThrow(InvalidOstreeArgumentError);
    expect(() => commitArgs({ ...base, subject: 'a\0b' })).toThrow(InvalidOstreeArgumentError);
    expect(() => commitArgs({ ...base, timestamp: '2026-11-26 10:00:00' })).toThrow(InvalidOstreeArgumentError);
    expect(() => commitArgs({ ...base, timestamp: '@1700000000' })).toThrow(InvalidOstreeArgumentError);
  });

  it('refuses an all-hex ref, which ostree would resolve as a (partial) commit checksum', () => {
    expect(() => commitArgs({ tree: { ref: 'cafe' }, orphan: true, subject: 's' })).toThrow(InvalidRefError);
    expect(() => commitArgs({ tree: { ref: C }, orphan: true, subject: 's' })).toThrow(InvalidRefError);
    expect(commitArgs({ tree: { ref: 'cafe/26' }, orphan: true, subject: 's' })[0]).toBe('--tree=ref=cafe/26');
  });
});
