import { ACTIONS_SCRIPT, commandForm, operatorPanel } from './actions.ts';
import { html, pathOf, shortCommit, type Html } from './html.ts';
import { badge, bytes, when, type Page } from './layout.ts';
import type { ArchComposeView, CandidateView, CommandRules, EventRef } from './reads.ts';

/** `/candidates/<group>/<version>`: each arch's compose and artifacts, the gates, approval, and the promotion or why not. */
export function candidatePage(c: CandidateView, rules: CommandRules): Page {
  const fields = { group: c.group, version: c.version };
  const body = html`<p>${badge(c.phase)} ${c.promoteJobId ? html`promotion job <a href="${pathOf('jobs', c.promoteJobId)}"><code>${c.promoteJobId}</code></a>` : ''}</p>
${operatorPanel()}
${commandForm({ topic: 'relengd.release.approve', label: 'Approve', fields }, rules)}
${commandForm({ topic: 'relengd.release.promote.requested', label: 'Promote now', fields, force: true }, rules)}
<h2>Composes</h2>
${c.arches.map(({ arch, compose }) => (compose ? archSection(compose) : html`<h3>${arch}</h3><p class="muted">no finished compose of ${c.version} yet</p>`))}
<h2>Gates</h2>
<table><thead><tr><th>Gate</th><th>State</th><th>Decided by</th></tr></thead><tbody>
${c.gates.length === 0 ? html`<tr><td colspan="3" class="muted">no gates configured</td></tr>` : ''}
${c.gates.map((g) => html`<tr><td>${g.label}</td><td>${badge(g.state)}</td><td>${g.detail ?? ''}${g.decidedBy ? html`<br>${eventLink(g.decidedBy)}` : ''}</td></tr>`)}
</tbody></table>
<h2>Approval</h2>
<p id="approval">${c.approval ? html`approved by <b>${c.approval.by ?? 'an unauthenticated sender'}</b>${c.approval.event ? html` ${eventLink(c.approval.event)}` : ''}` : html`<span class="muted">not approved</span>`}</p>
<h2>Promotion</h2>
${c.promotions.map(
  (p) => html`<table><thead><tr><th>Release ref</th><th>From</th><th>To</th></tr></thead><tbody>
${p.refs.map((r) => html`<tr><td><code>${r.ref}</code></td><td><code title="${r.from ?? ''}">${shortCommit(r.from)}</code></td><td><code title="${r.to}">${shortCommit(r.to)}</code></td></tr>`)}
</tbody></table><p>promoted${p.forced ? ' (forced)' : ''} ${eventLink(p.event)}</p>`,
)}
${c.refusals.map((r) => html`<p>${badge('refused')} <b>${r.reason}</b>: ${r.detail} ${eventLink(r.event)}</p>`)}
${c.promotions.length + c.refusals.length === 0 ? html`<p class="muted">not promoted yet</p>` : ''}`;
  return { title: `${c.group} ${c.version}`, body, scripts: [ACTIONS_SCRIPT] };
}

function archSection(a: ArchComposeView): Html {
  return html`<h3>${a.arch} ${badge(a.status)}</h3>
<p>compose <code>${a.composeId}</code> of <code>${a.ref}</code> = <code title="${a.commit ?? ''}">${shortCommit(a.commit)}</code>
${a.jobId ? html` · <a href="${pathOf('jobs', a.jobId)}">its job and log</a>` : html` · <span class="muted">no compose job (artifacts rebuilt from the current commit)</span>`}
${a.correlationId ? html` · <a href="${pathOf('chains', a.correlationId)}">chain</a>` : ''}</p>
<table><thead><tr><th>Artifact</th><th>Format</th><th>Size</th><th>sha256</th><th>Log</th></tr></thead><tbody>
${a.artifacts.length === 0 ? html`<tr><td colspan="5" class="muted">no artifacts</td></tr>` : ''}
${a.artifacts.map(
  (f) => html`<tr><td><b>${f.name}</b> <span class="muted">${f.kind}</span><br><code>${f.path}</code></td><td>${f.format}</td><td>${bytes(f.size)}</td>
<td><code>${f.sha256}</code></td><td>${f.jobId ? html`<a href="${pathOf('jobs', f.jobId)}">${f.log ?? 'job'}</a>` : html`<span class="muted">—</span>`}</td></tr>`,
)}</tbody></table>`;
}

/** A message that decided something: its topic, sender and time, linking to its chain. */
export function eventLink(e: EventRef): Html {
  return html`<a href="${pathOf('chains', e.correlationId)}">${e.topic}</a>${e.publisher ? html` from <b>${e.publisher}</b>` : ''} ${when(e.time)}`;
}
