import { describe, expect, it } from 'vitest';
import { daemonsStatus } from '../../../src/cli/commands/status.ts';
import { HEARTBEAT_STALE_MS } from '../../../src/cli/heartbeat.ts';
import { renderStatus } from '../../../src/cli/status-report.ts';
import type { ReplicaStatus } from '../../../src/store/api.ts';
import type { DaemonRecord } from '../../../src/store/daemons.ts';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const beatAgo = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();
const daemon = (pid: number, heartbeatAt: string): DaemonRecord => ({ id: `d-${pid}`, host: 'relengd-1', pid, url: 'http://127.0.0.1:8080', version: '0.1.0', startedAt: '2026-12-01T08:00:00.000Z', heartbeatAt });
const rendered = (d: ReturnType<typeof daemonsStatus>, replicas: ReplicaStatus[] | null = null) =>
  renderStatus({ daemon: d, streams: [], schedules: [], candidates: [], jobs: {}, outboxPending: 0, rejected: 0, failedEvents: 0, replicas }).split('\n').slice(0, replicas ? 3 + replicas.length : 2);

describe("status's daemon", () => {
  it('is up while a daemon beats', () => {
    const status = daemonsStatus([daemon(41, beatAgo(2_000))], NOW);
    expect(status).toMatchObject({ state: 'up', lastSeen: beatAgo(2_000), instances: [{ pid: 41, up: true }] });
    expect(rendered(status)).toEqual(['daemon: up', `  pid 41 on relengd-1, http://127.0.0.1:8080, relengd 0.1.0, started 2026-12-01T08:00:00.000Z, last heartbeat ${beatAgo(2_000)}`]);
  });

  it('is down, last seen at its last heartbeat, once a killed daemon stopped beating', () => {
    const status = daemonsStatus([daemon(41, beatAgo(HEARTBEAT_STALE_MS + 1))], NOW);
    expect(status).toMatchObject({ state: 'down', lastSeen: beatAgo(HEARTBEAT_STALE_MS + 1), instances: [{ pid: 41, up: false }] });
    expect(rendered(status)[0]).toBe(`daemon: down (last seen ${beatAgo(HEARTBEAT_STALE_MS + 1)})`);
  });

  it('is down when no daemon is registered (a clean stop unregisters)', () => {
    expect(daemonsStatus([], NOW)).toEqual({ state: 'down', lastSeen: null, instances: [] });
  });

  it('is up when one of several daemons on the store beats', () => {
    expect(daemonsStatus([daemon(41, beatAgo(60_000)), daemon(42, beatAgo(1_000))], NOW)).toMatchObject({ state: 'up', lastSeen: beatAgo(1_000) });
  });

  it('lists the replicas of a PostgreSQL store: which dispatches, the leases each holds, and a stale one', () => {
    const replica = (id: string, o: Partial<ReplicaStatus>): ReplicaStatus => ({ id, host: 'relengd-1', pid: 41, startedAt: beatAgo(60_000), heartbeatAt: beatAgo(1_000), stale: false, jobLeases: 0, dispatching: false, ...o });
    const lines = rendered(daemonsStatus([daemon(41, beatAgo(2_000))], NOW), [replica('a', { dispatching: true, jobLeases: 2 }), replica('b', { pid: 42, stale: true, heartbeatAt: beatAgo(90_000) })]);
    expect(lines.slice(2)).toEqual([
      'replicas:',
      `  a (pid 41 on relengd-1), dispatching, 2 job leases, last heartbeat ${beatAgo(1_000)}`,
      `  b (pid 42 on relengd-1) STALE: its work is taken over, 0 job leases, last heartbeat ${beatAgo(90_000)}`,
    ]);
  });
});
