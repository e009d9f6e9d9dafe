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
      return `compose finished    ${String(d.stream)} ${String(d.status)} (commit ${short(d.commit)}, ${(d.artifacts as unknown[]).length} artifacts)`;
    case 'relengd.release.promotion.refused':
      return `promotion refused   ${String(d.group)} ${String(d.version)}: ${String(d.reason)} (${String(d.detail)})`;
    case 'relengd.release.promoted':
      return `PROMOTED            ${String(d.group)} ${String(d.version)}: ${(d.refs as Array<{ ref: string; to: string }>).map((r) => `${r.ref} -> ${short(r.to)}`).join(', ')}`;
    default:
      return null;
  }
}
