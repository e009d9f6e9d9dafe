import { z } from 'zod';
import type { TopicSpec } from '../catalogue.ts';
import { Checksum } from './compose.ts';
import { ImageTagMove } from './release.ts';
import { SafeValue } from './safe-value.ts';

/**
 * Rollback: an operator asks for a group's release refs to go back to an earlier promoted version
 * (a command), and what came of it (relengd's own facts, from the rollback job or the listener).
 * Who asked is the command's authenticated publisher, never a field of the body.
 */

/** A commit checksum or an unambiguous prefix of one, as `ostree log` and `relengd releases` print them. */
const CommitPrefix = z.string().regex(/^[0-9a-f]{7,64}$/, 'expected an OSTree commit checksum (at least its first 7 hex digits)');

/** relengd.release.rollback.requested: back to `toVersion`, to the version `toCommit` was released as, or (neither) to the previous promoted version. */
export const RollbackRequested = z
  .looseObject({
    group: SafeValue,
    toVersion: SafeValue.optional(),
    toCommit: CommitPrefix.optional(),
    comment: z.string().max(4096).optional(),
  })
  .refine((body) => body.toVersion === undefined || body.toCommit === undefined, { message: 'give at most one of toVersion and toCommit' });
export type RollbackRequested = z.infer<typeof RollbackRequested>;

/** One release ref's move: from the rolled-back release commit to the new commit holding the earlier version's tree. */
const RefMove = z.looseObject({ ref: z.string(), arch: z.string(), from: Checksum, to: Checksum });

/** relengd.release.rolled-back: every arch's release ref moved back, each as a new commit on top of the one it replaced. */
export const ReleaseRolledBack = z.looseObject({
  group: z.string(),
  /** The version taken off the release refs; never promoted again automatically. */
  fromVersion: z.string(),
  /** The version whose trees the release refs now hold. */
  toVersion: z.string(),
  refs: z.array(RefMove).min(1),
  /** The identity that sent the command (`local:<user>`, a token's publisher). */
  requestedBy: z.string().nullable(),
  comment: z.string().optional(),
  jobId: z.string(),
  /** Container images: each release tag moved back to the manifest list the earlier version released, by digest. Absent: none. */
  images: z.array(ImageTagMove).optional(),
});
export type ReleaseRolledBack = z.infer<typeof ReleaseRolledBack>;

export const RollbackRefusalReason = z.enum([
  /** No promotion of the group recorded, or none before the current one. */
  'nothing-to-roll-back',
  /** The version named was never promoted (or the commit named is no release of one). */
  'unknown-version',
  'already-current',
  /** The target was itself rolled back: release it again with `relengd promote --force`. */
  'rolled-back',
  /** An arch of the group has no release of the target version, or left the configuration. */
  'arch-missing',
  'rollback-running',
  /** A release ref (or release tag) is not where relengd last moved it. */
  'ref-moved',
  /** A rollback commit to move a ref to has no good signature by the group's key (`streams[].sign`). */
  'unsigned',
  'rollback-failed',
]);
export type RollbackRefusalReason = z.infer<typeof RollbackRefusalReason>;

/** relengd.release.rollback.refused: nothing moved, and why. */
export const RollbackRefused = z.looseObject({
  group: z.string(),
  fromVersion: z.string().nullable(),
  toVersion: z.string().nullable(),
  reason: RollbackRefusalReason,
  detail: z.string(),
  requestedBy: z.string().nullable(),
  /** Set when the rollback job refused (its checks run against the repository). */
  jobId: z.string().optional(),
});
export type RollbackRefused = z.infer<typeof RollbackRefused>;

export const rollbackTopics = {
  'relengd.release.rollback.requested': {
    schema: RollbackRequested,
    summary: "An operator asked to move a group's release refs back to an earlier promoted version (audited).",
    origin: 'relengd',
  },
  'relengd.release.rolled-back': {
    schema: ReleaseRolledBack,
    summary: 'A group of release refs moved back to an earlier version, each as a new commit clients fast-forward to, with who asked.',
    origin: 'relengd',
  },
  'relengd.release.rollback.refused': {
    schema: RollbackRefused,
    summary: 'A rollback was refused and nothing moved, with the reason.',
    origin: 'relengd',
  },
} as const satisfies Record<string, TopicSpec>;
