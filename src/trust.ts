/**
 * The trust model as pure functions: what kind of topic a message is, and whether its sender may
 * send it. Transports only say who the sender is (an identity they authenticated) and how the
 * message came (live, replayed from a recorded bus, an archive, an operator on this machine); every
 * rule about who may send what lives here.
 *
 * - external facts (Bodhi, Koji, Pungi, ...): from anyone the `publishers` rules allow;
 * - gating facts (Greenwave, ResultsDB, a signer's replies): they decide promotions, so they count only from the
 *   publishers configured for their topic (default deny), or from an archive the operator chose;
 * - commands (approve, promote, ...): only from an authenticated identity the configuration allows
 *   (default deny), or from an operator on this machine; never from a recorded bus or an archive;
 * - relengd's own facts: never taken from outside at all.
 *
 * Also here, as they decide who is trusted: the form of a publisher name, and which listen
 * addresses only this machine reaches.
 */
import { BlockList, isIP } from 'node:net';

/** How a message reached relengd. */
export type DeliverySource =
  /** A live transport (AMQP, HTTP): the identity is what the transport authenticated. */
  | 'live'
  /** Read back from a recorded bus (a RabbitMQ stream): identities as the broker checked them, but history is no place for commands. */
  | 'replayed'
  /** A datagrepper page or an export file the operator pointed relengd at: no identities, vouched for by the operator. */
  | 'archive'
  /** Written by an operator on this machine (the CLI with write access to the store, the demo). */
  | 'operator'
  /** relengd's own timers, in process (`triggers.schedule`, `watch`): their events only, under the ids they derive. */
  | 'calendar';

export type TopicKind = 'external' | 'gating' | 'command' | 'own';

/** Commands: people and tools asking relengd to act. Every new operator verb sent as a message belongs here. */
export const COMMAND_TOPICS: ReadonlySet<string> = new Set([
  'relengd.release.approve',
  'relengd.release.promote.requested',
  'relengd.compose.request',
  'relengd.job.retry.requested',
  'relengd.job.cancel.requested',
  'relengd.release.rollback.requested',
]);

/** External facts that decide promotions. */
export const GATING_TOPICS: ReadonlySet<string> = new Set([
  'greenwave.decision.update',
  'resultsdb.result.new',
  // A signer's replies start the check that makes a commit count as signed (the signature itself is verified by ostree).
  'coreos.build.request.ostree-sign.finished',
  'coreos.build.request.artifacts-sign.finished',
]);

/** The kind of a bare topic. Any `relengd.*` topic that is not a command is relengd's own fact, known or not. */
export function topicKind(topic: string): TopicKind {
  if (COMMAND_TOPICS.has(topic)) return 'command';
  if (topic === 'relengd' || topic.startsWith('relengd.')) return 'own';
  if (GATING_TOPICS.has(topic)) return 'gating';
  return 'external';
}

export interface Sender {
  /** The identity a transport authenticated (AMQP `user_id`, an HTTP token's name, `local:<user>`); never a field of the body. */
  identity: string | undefined;
  source: DeliverySource;
}

/** `publishers` of the configuration: bare topic -> allowed identities. */
export type PublisherRules = Readonly<Record<string, readonly string[]>>;

export type Verdict =
  | { readonly allowed: true }
  /** `drop`: relengd's own topic from outside; acked and counted, never dead-lettered or dispatched. */
  | { readonly allowed: false; readonly drop: boolean; readonly why: string };

const ALLOWED: Verdict = { allowed: true };
const refuse = (why: string): Verdict => ({ allowed: false, drop: false, why });

/** relengd's own facts that its calendar (and its silence watch, a timer alike) writes through the intake; no transport may. */
export const CALENDAR_TOPICS: ReadonlySet<string> = new Set(['relengd.schedule.fired', 'relengd.bus.silent']);

/** May this sender send this (bare) topic? */
export function authorize(topic: string, sender: Sender, publishers: PublisherRules): Verdict {
  if (sender.source === 'calendar') return CALENDAR_TOPICS.has(topic) ? ALLOWED : refuse(`${topic} is not a calendar firing; the calendar sends ${[...CALENDAR_TOPICS].join(', ')} only`);
  const kind = topicKind(topic);
  const rule = Object.hasOwn(publishers, topic) ? publishers[topic] : undefined;
  const who = sender.identity ?? '(not authenticated)';
  const inRule = (): boolean => sender.identity !== undefined && rule !== undefined && rule.includes(sender.identity);

  switch (kind) {
    case 'own':
      return { allowed: false, drop: true, why: `${topic} is relengd's own event; it is never taken from outside` };
    case 'command':
      if (sender.source === 'operator') return ALLOWED;
      if (sender.source !== 'live') return refuse(`${topic} is a command; commands are never taken from ${sender.source === 'archive' ? 'an archive' : 'recorded history'}`);
      if (rule === undefined) return refuse(`${topic} is a command and no publisher is allowed to send it (allow one with publishers.${topic}); sender was ${who}`);
      return inRule() ? ALLOWED : refuse(`${topic} is accepted only from ${rule.join(', ')}; sender was ${who}`);
    case 'gating':
      if (sender.source === 'archive' || sender.source === 'operator') return ALLOWED;
      if (rule === undefined) return refuse(`${topic} decides promotions and counts only from configured publishers (set publishers.${topic}); sender was ${who}`);
      return inRule() ? ALLOWED : refuse(`${topic} is accepted only from ${rule.join(', ')}; sender was ${who}`);
    case 'external':
      if (rule === undefined || sender.source === 'archive' || sender.source === 'operator') return ALLOWED;
      return inRule() ? ALLOWED : refuse(`${topic} is accepted only from ${rule.join(', ')}; sender was ${who}`);
  }
}

/**
 * Operator verbs that are routes of the daemon's HTTP server rather than messages, because their
 * answer is needed at once (a replay's dry run, shown before the replay). Allowed as commands are,
 * by `publishers.<verb>` (default deny), to an identity the server authenticated. As a message from
 * a transport the name is one of relengd's own (`topicKind`), so it is dropped there.
 */
export const OPERATOR_ROUTES: ReadonlySet<string> = new Set(['relengd.replay.requested']);

/** May `identity` (what the HTTP server authenticated; undefined when nothing) use this operator route? */
export function authorizeOperatorRoute(verb: string, identity: string | undefined, publishers: PublisherRules): Verdict {
  if (!OPERATOR_ROUTES.has(verb)) return refuse(`${verb} is not an operator route`);
  const rule = Object.hasOwn(publishers, verb) ? publishers[verb] : undefined;
  const who = identity ?? '(not authenticated)';
  if (rule === undefined) return refuse(`${verb} is an operator action and no publisher is allowed it (allow one with publishers.${verb}); sender was ${who}`);
  return identity !== undefined && rule.includes(identity) ? ALLOWED : refuse(`${verb} is allowed only to ${rule.join(', ')}; sender was ${who}`);
}

/**
 * Whether a message from `source` may carry an id of the form relengd derives: only the calendar's
 * firings do (their ids are derived from the schedule and the slot); from anywhere else such an id
 * would occupy one relengd derives later.
 */
export function mayCarryDerivedId(source: DeliverySource): boolean {
  return source === 'calendar';
}

/**
 * Whether relengd should bind a (listener) topic pattern on a shared bus at all: never its own
 * facts (another instance's would only be dropped), commands only when someone may send them.
 */
export function bindFromOutside(pattern: string, publishers: PublisherRules): boolean {
  const kind = topicKind(pattern);
  if (kind === 'own') return false;
  if (kind === 'command') return Object.hasOwn(publishers, pattern);
  return true;
}

/**
 * Values from messages or state that end up in a command line or a file name (versions, compose
 * ids, artifact names): letters, digits and `._+~-`, not starting with `-` (never an option), bounded.
 */
export const SAFE_VALUE = /^[A-Za-z0-9._+~][A-Za-z0-9._+~-]{0,127}$/;
export const SAFE_VALUE_HINT = 'letters, digits and ._+~- only, not starting with "-", at most 128 characters';

export function isSafeValue(value: string): boolean {
  return SAFE_VALUE.test(value);
}

/**
 * A publisher name a token or a certificate can carry. No `:`, so neither can pass for an
 * operator on the relengd host (`local:<user>`).
 */
export const PUBLISHER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * Whether a listen address is reachable only from this machine: 127.0.0.0/8, ::1 or `localhost`.
 * Any other name counts as non-loopback (it may resolve anywhere), as do 0.0.0.0 and ::.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 6 ? 'ipv6' : 'ipv4');
}
