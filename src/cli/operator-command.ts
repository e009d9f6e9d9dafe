import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { publishOverHttp } from '../bus/embedded/client.ts';
import type { Config } from '../config/index.ts';
import { withPrefix } from '../events/topics.ts';
import type { Logger } from '../log.ts';
import { httpTokenFrom } from './context.ts';
import { openPipeline } from './pipeline.ts';

export interface CommandRoute {
  /** Send to a daemon over HTTP (with a bearer token) instead of writing to the local store. */
  url?: string | undefined;
  tokenFile?: string | undefined;
}

export interface CommandReply {
  ok: boolean;
  /** `local:<user>` or `http` (the daemon maps the token to its publisher name). */
  via: string;
  id: string | null;
  reason: string | null;
  error: string | null;
}

/**
 * Sends an operator command (approve, promote, ...). Its authority is something only an operator
 * has: write access to the store (the default: the command is stored as coming from
 * `local:<unix user>` and the running daemon dispatches it within its poll interval), or a bearer
 * token the daemon maps to a publisher that `publishers` allows (`--url`, `--token-file`,
 * `RELENGD_TOKEN`). Who asked is that identity, never a field of the body.
 */
export async function sendOperatorCommand(config: Config, logger: Logger, name: string, body: Record<string, unknown>, route: CommandRoute): Promise<CommandReply> {
  // Each request is its own decision: a retry after a refusal must not be taken for a duplicate.
  const id = randomUUID();
  const token = httpTokenFrom(route.tokenFile);
  if (route.url !== undefined || token !== undefined) {
    const baseUrl = route.url ?? `http://${config.http.host}:${config.http.port}`;
    const reply = await publishOverHttp(baseUrl, { topic: withPrefix(name, config.topicPrefix), id, body }, { token });
    const ok = reply.status < 300;
    return { ok, via: 'http', id: ok ? String(reply.body.id) : null, reason: ok ? null : String(reply.body.reason), error: ok ? null : String(reply.body.error) };
  }
  const identity = `local:${localUser()}`;
  const { store, intake } = await openPipeline(config, logger);
  try {
    const [outcome] = await intake.accept([
      { transport: 'cli', source: 'operator', raw: Buffer.from(JSON.stringify(body)), headers: {}, decoded: { topic: name, id, data: body, publisher: identity } },
    ]);
    if (outcome?.kind === 'committed') return { ok: true, via: identity, id: outcome.id, reason: null, error: null };
    if (outcome?.kind === 'rejected') return { ok: false, via: identity, id: null, reason: outcome.error.reason, error: outcome.error.message };
    return { ok: false, via: identity, id: null, reason: outcome?.kind ?? 'none', error: 'the store could not take the command; retry' };
  } finally {
    await store.close();
  }
}

/** Adds the options that send an operator command to a daemon over HTTP (`--url`, `--token-file`). */
export function withOperatorRoute(command: Command): Command {
  return command
    .option('--url <url>', 'send to the daemon over HTTP instead of writing to the local store (needs a token the daemon maps to an allowed publisher)')
    .option('--token-file <file>', 'authenticate with the bearer token in this file (default: $RELENGD_TOKEN)');
}

/**
 * Adds the options of a command whose outcome the operator can wait for (`--comment`, `--wait`,
 * `--timeout`, `--json`); `moved` says what success is ("the refs moved").
 */
export function withOutcomeWait(command: Command, moved: string): Command {
  return command
    .option('--comment <text>', 'why, for the record')
    .option('--wait', `wait for the outcome: exit 0 when ${moved}, 1 when refused (with the reason) or when none came in time`)
    .option('--timeout <minutes>', 'with --wait: how long to wait', '60')
    .option('--json', 'print the response as JSON');
}

/** Whether `sendOperatorCommand` sends over HTTP (a URL or a token given) rather than writing to the local store. */
export function isHttpRoute(route: CommandRoute): boolean {
  return route.url !== undefined || httpTokenFrom(route.tokenFile) !== undefined;
}

/**
 * Who the operator on this machine is: the user name, or `uid <n>` where the UID has no passwd
 * entry (OpenShift runs containers under an arbitrary UID, and `userInfo()` throws there).
 */
export function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}
