import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import type { ReleasePromoted } from '../../events/relengd/release.ts';
import type { ReleaseRolledBack } from '../../events/relengd/rollback.ts';
import { streamsOfGroup } from '../../pipeline/listeners/streams.ts';
import type { StoredEvent } from '../../store/events.ts';
import type { StoreApi } from '../../store/api.ts';
import { openStore } from '../../store/open.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { refMoveLines, type RefMove } from '../promotion-outcome.ts';
import { parsePositiveInt } from '../time.ts';

interface ReleasesOptions {
  group: string;
  limit: string;
  json?: boolean;
}

/** One move of a group's release refs, as `releases` lists it. */
export type ReleaseEntry =
  | {
      kind: 'promoted';
      group: string;
      version: string;
      at: string;
      refs: RefMove[];
      /** Who asked, for a manual promotion; null when the gates promoted it. */
      requestedBy: string | null;
      /** The gates that held (gated promotions); null where the event predates their recording. */
      gates: string[] | null;
      forced: boolean;
      /** A later rollback took this version off the release refs (and nothing released it again since). */
      rolledBack: boolean;
      eventId: string;
      jobId: string | null;
    }
  | {
      kind: 'rolled-back';
      group: string;
      fromVersion: string;
      toVersion: string;
      at: string;
      refs: RefMove[];
      requestedBy: string | null;
      comment: string | null;
      eventId: string;
      jobId: string;
    };

const TOPICS = ['relengd.release.promoted', 'relengd.release.rolled-back'] as const;

export function registerReleases(program: Command): void {
  program
    .command('releases')
    .description("a group's release history, newest first: each promotion (version, when, each ref from -> to, who asked or which gates held) and each rollback; read from the stored events, no daemon needed")
    .requiredOption('--group <group>', 'stream group, e.g. f26-atomic-host')
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'print JSON')
    .action(async (opts: ReleasesOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const limit = parsePositiveInt(opts.limit, '--limit');
      const store = await openStore(config, { existing: true });
      let entries: ReleaseEntry[];
      try {
        entries = await releaseHistory(store, opts.group, limit);
      } finally {
        await store.close();
      }
      // A group that left the configuration still has its history; one never configured is a typo.
      if (entries.length === 0 && streamsOfGroup(config, opts.group).length === 0) {
        throw new UsageError(`no group ${opts.group} in the configuration and no release of it recorded (groups: ${[...new Set(config.streams.map((s) => s.group))].join(', ') || 'none'})`);
      }
      output(opts.json, entries, () => entries.map(render).join('\n') || `no release of ${opts.group} recorded yet`);
    });
}

/** The newest `limit` promotions and rollbacks of `group`, newest first, from the stored events. */
export async function releaseHistory(store: StoreApi, group: string, limit: number): Promise<ReleaseEntry[]> {
  const events = (await Promise.all(TOPICS.map((topic) => store.events.query({ topic, subject: group, limit }))))
    .flat()
    .filter((e) => (e.envelope.data as { group?: unknown } | null)?.group === group)
    .sort((a, b) => b.seq - a.seq)
    .slice(0, limit);
  // Oldest first, so a rollback finds the promotion it took off the refs.
  const entries: ReleaseEntry[] = [];
  const latestPromotion = new Map<string, Extract<ReleaseEntry, { kind: 'promoted' }>>();
  for (const event of [...events].reverse()) {
    if (event.envelope.topic === 'relengd.release.promoted') {
      const entry = await promotedEntry(store, event);
      latestPromotion.set(entry.version, entry);
      entries.push(entry);
    } else {
      const data = event.envelope.data as ReleaseRolledBack;
      const taken = latestPromotion.get(data.fromVersion);
      if (taken) taken.rolledBack = true;
      entries.push({ kind: 'rolled-back', group, fromVersion: data.fromVersion, toVersion: data.toVersion, at: event.envelope.time, refs: data.refs, requestedBy: data.requestedBy, comment: data.comment ?? null, eventId: event.envelope.id, jobId: data.jobId });
    }
  }
  return entries.reverse();
}

async function promotedEntry(store: StoreApi, event: StoredEvent): Promise<Extract<ReleaseEntry, { kind: 'promoted' }>> {
  const data = event.envelope.data as ReleasePromoted;
  const jobId = data.jobId ?? null;
  // Events from before `requestedBy` was recorded in them: the promotion job's spec has it.
  const requestedBy = data.requestedBy !== undefined ? data.requestedBy : ((jobId ? ((await store.jobs.get(jobId))?.spec as { requestedBy?: string | null } | undefined)?.requestedBy : null) ?? null);
  return {
    kind: 'promoted',
    group: data.group,
    version: data.version,
    at: event.envelope.time,
    refs: data.refs,
    requestedBy,
    gates: requestedBy === null ? (data.gates ?? null) : null,
    forced: data.forced ?? false,
    rolledBack: false,
    eventId: event.envelope.id,
    jobId,
  };
}

function render(entry: ReleaseEntry): string {
  if (entry.kind === 'rolled-back') {
    const why = entry.comment ? `: ${entry.comment}` : '';
    return [`${entry.at}  rolled back  ${entry.fromVersion} -> ${entry.toVersion}  asked by ${entry.requestedBy ?? 'an unauthenticated sender'}${why}`, ...refMoveLines(entry.refs)].join('\n');
  }
  const how = entry.requestedBy !== null ? `asked by ${entry.requestedBy}` : entry.gates === null ? 'gates held (not recorded which)' : `gates: ${entry.gates.join(', ') || 'none configured'}`;
  const marks = `${entry.forced ? ' (forced)' : ''}${entry.rolledBack ? ' [rolled back]' : ''}`;
  return [`${entry.at}  promoted     ${entry.version}${marks}  ${how}`, ...refMoveLines(entry.refs)].join('\n');
}
