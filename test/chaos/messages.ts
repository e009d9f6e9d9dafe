/**
 * The chaos run's traffic, Fedora-shaped and published the way Fedora Messaging publishes
 * (test/helpers/fedora-wire.ts): mostly Koji and Bodhi noise that relengd stores but that composes
 * nothing, plus, every `mashEvery` messages, a Bodhi push of the configured updates repo that starts
 * real (stand-in) composes, and, half-way between two pushes, a Greenwave decision for the newest
 * version both arches finished (as the broker user `guest`, the allowlisted publisher), which
 * promotes it.
 */
import { fedoraWire, type FedoraMessage } from '../helpers/fedora-wire.ts';
import { messageId, randomInt } from './random.ts';

export const PREFIX = 'org.fedoraproject.prod';
/** Noise on a topic no listener has; relengd binds it through `bus.amqp.bindings` and stores it. */
export const UNKNOWN_TOPIC_BINDING = `${PREFIX}.copr.#`;

export type Kind = 'koji-tag' | 'koji-untag' | 'koji-repo-done' | 'bodhi-other-repo' | 'copr' | 'mash' | 'decision';

export interface Planned {
  seq: number;
  id: string;
  kind: Kind;
}

/** What a message needs from the world when it is first built (Bodhi writes the repo; Greenwave looks at composes). */
export interface World {
  /** Bodhi mashed the updates repo: write its new content before the message announces it. */
  mash(n: number): void;
  /** The newest group version both arches finished and not yet decided, if any. */
  decisionSubject(): string | null;
  group: string;
}

export interface Built {
  seq: number;
  id: string;
  kind: Kind;
  /** For a decision: the compose it is about. */
  subject?: string;
  wire: ReturnType<typeof fedoraWire>;
}

/** The kind of every message, decided up front from the seed. */
export function planMessages(seed: number, count: number, mashEvery: number, random: () => number): Planned[] {
  return Array.from({ length: count }, (_, seq) => {
    let kind: Kind;
    if (seq % mashEvery === mashEvery - 1) kind = 'mash';
    else if (seq % mashEvery === Math.floor(mashEvery / 2) - 1) kind = 'decision';
    else {
      const r = random();
      kind = r < 0.7 ? 'koji-tag' : r < 0.8 ? 'koji-untag' : r < 0.88 ? 'koji-repo-done' : r < 0.95 ? 'bodhi-other-repo' : 'copr';
    }
    return { seq, id: messageId(seed, seq), kind };
  });
}

const PACKAGES = ['kernel', 'glibc', 'systemd', 'podman', 'python3', 'firefox', 'gnome-shell', 'rust', 'golang', 'nodejs', 'ostree', 'rpm-ostree'];

/** Builds a planned message (once: a retry re-sends the same bytes). `chaos_seq` lets the check find a message stored twice under two ids. */
export function buildMessage(p: Planned, world: World, random: () => number, mashes: { n: number }): Built {
  const sentAt = new Date().toISOString().replace(/\.\d+Z$/, '+00:00');
  const pkg = PACKAGES[randomInt(random, 0, PACKAGES.length)]!;
  const release = randomInt(random, 39, 43);
  const nvr = { name: pkg, version: `${randomInt(random, 1, 9)}.${randomInt(random, 0, 30)}.${randomInt(random, 0, 9)}`, release: `${randomInt(random, 1, 5)}.fc${release}` };
  let m: FedoraMessage;
  let subject: string | undefined;
  switch (p.kind) {
    case 'koji-tag':
    case 'koji-untag': {
      // Tags no stream lists (the demo's streams listen to f26-atomic, for repo.done only).
      const tag = [`f${release}-updates-candidate`, `f${release}-updates-testing-pending`, `f${release}-signing-pending`, `epel${release - 30}-testing-candidate`][randomInt(random, 0, 4)]!;
      m = {
        topic: `${PREFIX}.buildsys.${p.kind === 'koji-tag' ? 'tag' : 'untag'}`,
        headers: { fedora_messaging_schema: 'base.message' },
        body: { build_id: 2_400_000 + p.seq, instance: 'primary', owner: 'packager', tag, tag_id: 60_000 + release, user: 'bodhi', ...nvr, chaos_seq: p.seq },
      };
      break;
    }
    case 'koji-repo-done':
      m = { topic: `${PREFIX}.buildsys.repo.done`, headers: { fedora_messaging_schema: 'koji_fedoramessaging.repo.DoneV1' }, body: { instance: 'primary', repo_id: 6_000_000 + p.seq, tag: `f${release}-build`, tag_id: 60_000 + release, chaos_seq: p.seq } };
      break;
    case 'bodhi-other-repo':
      m = { topic: `${PREFIX}.bodhi.compose.complete`, headers: { fedora_messaging_schema: 'bodhi.compose.complete.v1' }, body: { agent: 'bodhi', ctype: 'rpm', repo: `f${release}-updates${random() < 0.5 ? '-testing' : ''}`, success: true, chaos_seq: p.seq } };
      break;
    case 'copr':
      m = { topic: `${PREFIX}.copr.build.end`, body: { build: 7_000_000 + p.seq, chroot: `fedora-${release}-x86_64`, copr: 'chaos', owner: 'someone', pkg, status: 1, user: 'someone', version: `${nvr.version}-${nvr.release}`, what: 'build end', chaos_seq: p.seq } };
      break;
    case 'mash': {
      const n = ++mashes.n;
      world.mash(n);
      m = { topic: `${PREFIX}.bodhi.compose.complete`, headers: { fedora_messaging_schema: 'bodhi.compose.complete.v1' }, body: { agent: 'bodhi', ctype: 'rpm', repo: 'f26-updates', success: true, chaos_seq: p.seq } };
      break;
    }
    case 'decision': {
      // Nothing finished yet: a decision about a compose that does not exist (stored, promotes nothing).
      subject = world.decisionSubject() ?? `${world.group}-26.19700101.${p.seq}`;
      m = {
        topic: `${PREFIX}.greenwave.decision.update`,
        headers: { fedora_messaging_schema: 'greenwave.decision.update.v1' },
        userId: 'guest',
        body: {
          decision_context: 'atomic_two_week',
          product_version: 'fedora-26',
          subject_type: 'compose',
          subject_identifier: subject,
          subject: [{ 'productmd.compose.id': subject }],
          policies_satisfied: true,
          summary: 'All required tests passed',
          applicable_policies: ['atomic_two_week_tests'],
          satisfied_requirements: [{ result_id: 30_000_000 + p.seq, testcase: 'atomic.host.smoke', type: 'test-result-passed' }],
          unsatisfied_requirements: [],
          chaos_seq: p.seq,
        },
      };
      break;
    }
  }
  m.id = p.id;
  m.sentAt = sentAt;
  m.headers = { ...m.headers, 'sent-at': sentAt };
  return { seq: p.seq, id: p.id, kind: p.kind, ...(subject ? { subject } : {}), wire: fedoraWire(m) };
}
