/**
 * What the dashboard shows, as the read functions the daemon hands the HTTP server (it never gets
 * the store). Each view is plain data; the pages only render it.
 */
import type { RefHead } from '../../ostree/index.ts';
import type { GateView as GateViewOf } from '../../pipeline/gates.ts';
import type { LastCompose } from '../../pipeline/last-compose.ts';
import type { JobRow } from '../../store/jobs.ts';

/** A ref and the commit it points at (its `version` and time), read through src/ostree. */
export type RefView = RefHead;

/** A stream's last `compose.finished` (or failure nothing announced), with why it is not FINISHED. */
export type ComposeView = LastCompose;

export interface StreamView {
  id: string;
  group: string;
  arch: string;
  /** Where composes land (Pungi's compose repo for a Pungi-composed stream). */
  updates: RefView;
  /** The release ref, in the public repo; null when the stream is not promoted. */
  release: RefView | null;
  lastCompose: ComposeView | null;
  /** The compose running for the stream's ref, and the follow-up queued behind it. */
  composing: { active: { jobId: string; version: string } | null; pending: { version: string } | null } | null;
}

export type CandidatePhase = 'open' | 'promoting' | 'promoted' | 'refused' | 'rolled-back';

export interface CandidateSummary {
  group: string;
  version: string;
  phase: CandidatePhase;
}

/** An event that decided something (a gate, an approval, a promotion), to link to. */
export interface EventRef {
  id: string;
  topic: string;
  time: string;
  correlationId: string;
  publisher: string | null;
}

/** A gate's state (pending, passed, failed) and the message that decided it. */
export type GateView = GateViewOf<EventRef>;

export interface ArtifactView {
  name: string;
  kind: string;
  format: string;
  size: number;
  sha256: string;
  path: string;
  /** The build job, whose page has its log. */
  jobId: string | null;
  log: string | null;
}

export interface ArchComposeView {
  arch: string;
  stream: string;
  composeId: string;
  ref: string;
  commit: string | null;
  status: string;
  /** The job that composed it (none for a rebuild of artifacts from the current commit). */
  jobId: string | null;
  log: string | null;
  correlationId: string | null;
  artifacts: ArtifactView[];
}

export interface PromotionView {
  event: EventRef;
  forced: boolean;
  refs: Array<{ ref: string; arch: string; from: string | null; to: string }>;
}

export interface RefusalView {
  event: EventRef;
  reason: string;
  detail: string;
}

export interface CandidateView extends CandidateSummary {
  /** The group's arches (promotable streams) and their composes of this version; null where none finished yet. */
  arches: Array<{ arch: string; compose: ArchComposeView | null }>;
  gates: GateView[];
  approval: { by: string | null; event: EventRef | null } | null;
  promotions: PromotionView[];
  refusals: RefusalView[];
  promoteJobId: string | null;
}

export interface JobView extends JobRow {
  /** How long its last run took, or has taken so far; null when it never started. */
  durationMs: number | null;
}

export interface TimelineEntry {
  /** Storage order: what relengd saw and did, in the order it happened (message times are the senders'). */
  seq: number;
  event: EventRef;
  origin: 'inbound' | 'emitted';
  /** One line saying what happened, or null: the page shows the data then. */
  summary: string | null;
  data: unknown;
  /** Not in this chain but about its candidate: the gating message and the promotion that followed. */
  related: boolean;
}

export interface ChainView {
  correlationId: string;
  entries: TimelineEntry[];
  /** Candidates the chain's composes belong to. */
  candidates: CandidateSummary[];
  /** The chain is longer than the page shows. */
  cut: boolean;
}

export interface RejectionView {
  receivedAt: string;
  transport: string;
  topic: string | null;
  messageId: string | null;
  publisher: string | null;
  reason: string;
  field: string | null;
  detail: string;
  rawSize: number;
  /** The first bytes of the body as text. */
  rawStart: string;
}

export interface FailedEventView {
  event: EventRef;
  attempts: number;
  error: string | null;
}

export interface HealthView {
  transport: string;
  ready: boolean;
  connected: boolean;
  outboxPending: number;
  /** When the oldest event waiting for the broker was stored. */
  outboxOldest: string | null;
  /** Stored events not yet dispatched to the listeners. */
  dispatchPending: number;
  /** The newest inbound message's time: how long ago the bus last said anything. */
  lastInbound: string | null;
  /** Messages waiting on the broker for relengd (Transport.backlog), or why that is not known. */
  backlog: { messages: number } | { unknown: string };
  /** Watched topics (`watch`): when each was last heard, and whether it went silent. */
  silence: SilenceView[];
  now: string;
}

/** A watched topic as of now (src/bus/calendar silence watch), with its newest `relengd.bus.silent` report. */
export interface SilenceView {
  topic: string;
  quietHours: number;
  lastSeen: string | null;
  silent: boolean;
  reported: EventRef | null;
}

/** A group's releases as relengd moved its release refs, for the rollback form. */
export interface ReleaseView {
  group: string;
  /** The version the release refs hold; null before the first promotion. */
  current: string | null;
  /** Promoted versions a rollback can go back to, newest first: neither the current one nor one rolled back. */
  rollbackTargets: string[];
  /** Versions taken off the release refs, newest first. */
  rolledBack: Array<{ version: string; by: string | null; at: string }>;
  /** The rollback in flight; `awaitingSignatures`: its rollback commits wait for their signatures (no ref moved yet). */
  rollingBack: { jobId: string; toVersion: string; awaitingSignatures?: boolean } | null;
  /** The newest rollback outcome: done, or refused with why. */
  lastRollback: { outcome: 'rolled-back' | 'refused'; detail: string; event: EventRef } | null;
}

/** Command topics the pages' forms send, each with the publishers `publishers` allows for it. */
export type CommandRules = Record<string, readonly string[]>;

export interface DashboardReads {
  streams(): Promise<StreamView[]>;
  candidates(): Promise<CandidateSummary[]>;
  /** Undefined when the store knows no such candidate. */
  candidate(group: string, version: string): Promise<CandidateView | undefined>;
  jobs(limit: number): Promise<JobView[]>;
  job(id: string): Promise<JobView | undefined>;
  chain(correlationId: string): Promise<ChainView>;
  rejected(limit: number): Promise<{ rejections: RejectionView[]; failedEvents: FailedEventView[] }>;
  health(): Promise<HealthView>;
  /** Each promoted group's releases. */
  releases(): Promise<ReleaseView[]>;
  commands(): CommandRules;
}
