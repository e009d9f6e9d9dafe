import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../../src/store/migrations.ts';
import type { Rejection } from '../../../src/store/rejected.ts';
import { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

function open(path: string, options: Parameters<typeof Store.open>[1] = {}): Store {
  const store = Store.open(path, options);
  stores.push(store);
  return store;
}

const rejection = (raw: Uint8Array): Rejection => ({
  receivedAt: '2026-11-26T12:00:00.000Z',
  transport: 'amqp',
  topic: 'org.fedoraproject.prod.bodhi.update.comment',
  messageId: 'm-1',
  publisher: 'bodhi',
  reason: 'too-large',
  field: null,
  detail: 'message of 8388608 bytes exceeds the limit of 1048576',
  headers: { 'x-test': '1' },
  raw,
});

describe('rejected messages: raw bytes', () => {
  it('keeps the first 64 KiB of an 8 MB body, and its full size', () => {
    const store = open(join(tempDir(), 'relengd.db'));
    const body = Buffer.alloc(8 * 1024 * 1024, 'x');
    body.write('{"head":', 0);
    store.rejected.insert(rejection(body));
    const [row] = store.rejected.list();
    expect(row).toMatchObject({ rawSize: 8 * 1024 * 1024, rawTruncated: true, detail: 'message of 8388608 bytes exceeds the limit of 1048576' });
    expect(row!.raw.byteLength).toBe(65_536);
    expect(Buffer.from(row!.raw).equals(body.subarray(0, 65_536))).toBe(true);
    const stored = store.db.prepare('SELECT length(raw) AS n FROM rejected').get() as { n: number };
    expect(stored.n).toBe(65_536);
  });

  it('keeps a body within the limit whole, and as many bytes as configured', () => {
    const dir = tempDir();
    const store = open(join(dir, 'relengd.db'), { rejectedRawBytes: 4 });
    store.rejected.insert(rejection(Buffer.from('{"a":1}')));
    store.rejected.insert(rejection(Buffer.from('{}')));
    expect(store.rejected.list().map((r) => [Buffer.from(r.raw).toString(), r.rawSize, r.rawTruncated])).toEqual([
      ['{}', 2, false],
      ['{"a"', 7, true],
    ]);
  });

  it('reads a row stored before sizes were recorded as whole', () => {
    const path = join(tempDir(), 'relengd.db');
    // A store at schema 4, with a rejection in it.
    const old = new DatabaseSync(path);
    for (const migration of migrations.slice(0, 4)) old.exec(migration);
    old.exec('PRAGMA user_version = 4');
    old.prepare(`INSERT INTO rejected (received_at, transport, reason, detail, headers, raw) VALUES ('2026-01-01T00:00:00.000Z', 'http', 'schema', 'bad', '{}', ?)`).run(Buffer.from('{"old":true}'));
    old.close();

    const [row] = open(path).rejected.list();
    expect(row).toMatchObject({ rawSize: 12, rawTruncated: false });
    expect(Buffer.from(row!.raw).toString()).toBe('{"old":true}');
  });
});
