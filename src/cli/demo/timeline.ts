import type { Envelope } from '../../events/envelope.ts';

const short = (commit: unknown): string => (typeof commit === 'string' ? commit.slice(0, 12) : 'none');

/** One readable line for an event relengd published, or null for events not worth a line. */
export function timelineLine(envelope: Envelope): string | null {
  const d = envelope.data as Record<string, unknown>;
  switch (envelope.topic) {
    case 'relengd.ostree.compose.requested':
      return `compose requested   ${String(d.stream)} (version ${String(d.version)})`;
    case 'relengd.ostree.compose.finished':
      if (d.pungiComposeId) return d.commit ? `Pungi commit found  ${String(d.ref)} -> ${short(d.commit)} in the compose repo (${String(d.pungiComposeId)})` : `Pungi: no change    ${String(d.ref)}`;
      return d.commit ? `composed            ${String(d.ref)} -> ${short(d.commit)} (${String(d.version)})` : `compose: no change  ${String(d.ref)}`;
    case 'relengd.ostree.compose.failed':
      return `compose FAILED      ${String(d.ref)}: ${String(d.error)}`;
    case 'relengd.artifact.build.finished':
      return `built               ${String(d.stream)} ${String(d.name)} (${String(d.format)}, ${String(d.size)} bytes, sha256 ${String(d.sha256).slice(0, 12)})`;
    case 'relengd.artifact.build.failed':
      return `build FAILED        ${String(d.stream)} ${String(d.name)}${d.failable ? ' (failable)' : ''}: ${String(d.error)}`;
    case 'relengd.compose.finished':
      return `compose finished    ${String(d.stream)} ${String(d.status)} (compose ${String(d.composeId)}, commit ${short(d.commit)}, ${(d.artifacts as unknown[]).length} artifacts)`;
    case 'relengd.schedule.fired':
      return `schedule fired      ${String(d.group)} "${String(d.cron)}" ${String(d.timezone)}, slot ${String(d.slot)}${d.missed ? ' (missed, fired on start)' : ''}: ${d.action === 'artifacts' ? "rebuild installer and images from each stream's current commit" : 'compose'}`;
    case 'relengd.sign.requested':
      return `signature requested ${String(d.ref)} ${short(d.commit)} (${String(d.protocol)}, request ${String(d.requestId).slice(0, 8)}, attempt ${String(d.attempt)} of ${String(d.attempts)}${d.resend ? `, sent again (${String(d.resend)})` : ''})`;
    case 'relengd.sign.verified':
      if (d.by === 'reply') return `signer's reply       ${String(d.ref)} ${short(d.commit)}: SUCCESS, and checked: the signature by key ${String(d.keyId)} is good`;
      return `signed              ${String(d.ref)} ${short(d.commit)} by key ${String(d.keyId)}: verified by ostree against the keyring`;
    case 'relengd.sign.refused':
      return `signature refused   ${String(d.ref)} ${short(d.commit)} (${String(d.reason)}): ${String(d.detail)}`;
    case 'relengd.sign.timed-out':
      return `signature TIMED OUT ${String(d.ref)} ${short(d.commit)} (attempt ${String(d.attempt)} of ${String(d.attempts)}): ${d.next === 'retry' ? 'asking again' : 'no more requests; a late reply still counts'}`;
    case 'relengd.release.awaiting-signature':
      return `release commits     ${String(d.group)} ${String(d.version)}: ${(d.commits as Array<{ ref: string; commit: string }>).map((c) => `${c.ref} -> ${short(c.commit)}`).join(', ')} written; no ref moves until they are signed`;
    case 'relengd.release.promotion.refused':
      return `promotion refused   ${String(d.group)} ${String(d.version)}: ${String(d.reason)} (${String(d.detail)})`;
    case 'relengd.release.promoted':
      return `PROMOTED            ${String(d.group)} ${String(d.version)}: ${(d.refs as Array<{ ref: string; to: string }>).map((r) => `${r.ref} -> ${short(r.to)}`).join(', ')}`;
    default:
      return null;
  }
}

/**
 * Why a release ref's commit is not the composed one: the composed commit is bound to the ref it
 * was composed on (`ostree.ref-binding`; clients following the release ref would refuse it), so the
 * promotion commits the same tree again, bound to the release ref, on top of the previous release
 * commit: clients of the release ref fast-forward to it. `from` is that previous release commit,
 * null for the first release on the ref.
 */
export function promotionCommitLine(move: { ref: string; from: string | null; to: string }, composed: { commit: string; ref: string }): string {
  const head = `promotion commit    ${move.ref} -> ${short(move.to)}`;
  if (move.to === composed.commit) return `${head}: the composed commit itself (bound to no other ref)`;
  const parent = move.from ? `on top of the previous release ${short(move.from)}` : '(its first release: each later one goes on top of the previous)';
  return `${head}, not the composed ${short(composed.commit)} (bound to ${composed.ref}): the same tree, committed again bound to the release ref ${parent}, so \`ostree admin upgrade\` clients fast-forward`;
}
