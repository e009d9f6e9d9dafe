import { z } from 'zod';
import { SafeValue } from './safe-value.ts';

/** A full OSTree commit checksum (SHA-256, hex). */
export const Checksum = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-character hex OSTree checksum');

/**
 * Set on the events of a commit Pungi made (`pungi.compose.ostree`): Pungi's compose id. Such a
 * compose ends with Pungi's status message (the pungi-tracker announces it), not with its commit.
 */
export const PungiComposeId = SafeValue.describe("Pungi's compose id, when Pungi made the commit");

/** What made relengd ask for a compose: the triggering message ids and topics, merged when requests coalesce. */
export const Cause = z.looseObject({ id: z.string(), topic: z.string() });

/** relengd.ostree.compose.requested: a stream's tree should be recomposed. */
export const OstreeComposeRequested = z.looseObject({
  stream: SafeValue,
  ref: z.string(),
  /** Informational: the composer always uses the stream's configured treefile. */
  treefile: z.string(),
  /** The version the commit will carry; every arch of a group composed from one trigger shares it. */
  version: SafeValue,
  /** The group's compose id in Pungi's style (`Fedora-AtomicHost-26-20261202.0`); absent in requests recorded before compose ids. */
  composeId: SafeValue.optional(),
  causes: z.array(Cause).min(1),
});
export type OstreeComposeRequested = z.infer<typeof OstreeComposeRequested>;

/** relengd.ostree.compose.finished: `commit` is null when rpm-ostree found nothing to change. */
export const OstreeComposeFinished = z.looseObject({
  composeId: SafeValue,
  causes: z.array(Cause).optional(),
  stream: SafeValue,
  ref: z.string(),
  commit: Checksum.nullable(),
  parent: Checksum.nullable(),
  version: SafeValue.nullable(),
  duration: z.number().nonnegative().describe('seconds'),
  pungiComposeId: PungiComposeId.optional(),
});
export type OstreeComposeFinished = z.infer<typeof OstreeComposeFinished>;

/** relengd.ostree.compose.failed: the compose command failed; `log` is the job's log file. */
export const OstreeComposeFailed = z.looseObject({
  composeId: SafeValue,
  stream: SafeValue,
  ref: z.string(),
  version: SafeValue.nullable().optional(),
  error: z.string(),
  log: z.string().nullable(),
  pungiComposeId: PungiComposeId.optional(),
});
export type OstreeComposeFailed = z.infer<typeof OstreeComposeFailed>;
