import { ACTIONS_SCRIPT, commandForm, operatorPanel } from './actions.ts';
import { html, pathOf, shortCommit, type Html } from './html.ts';
import { eventLink } from './candidate-page.ts';
import { badge, when, type Page } from './layout.ts';
import type { CandidateSummary, CommandRules, RefView, ReleaseView, StreamView } from './reads.ts';

/**
 * `/`: each stream's refs, last compose and queue, the release candidates, a compose button per
 * stream and group, and per promoted group its release and a rollback form.
 */
export function streamsPage(streams: readonly StreamView[], candidates: readonly CandidateSummary[], rules: CommandRules, releases: readonly ReleaseView[] = []): Page {
  const groups = [...new Set(streams.map((s) => s.group))];
  const releaseOf = (group: string): ReleaseView | undefined => releases.find((r) => r.group === group);
  const body = html`${operatorPanel()}
<table><thead><tr><th>Stream</th><th>Updates ref</th><th>Release ref</th><th>Last compose</th><th>Queued</th><th></th></tr></thead><tbody>
${streams.map(
  (s) => html`<tr id="stream-${s.id}"><td><b>${s.id}</b><br><span class="muted">${s.group} · ${s.arch}</span></td>
<td>${refCell(s.updates)}</td><td>${s.release ? refCell(s.release) : html`<span class="muted">not promoted</span>`}</td>
<td>${s.lastCompose
    ? html`${badge(s.lastCompose.status)} ${s.lastCompose.version ?? ''}<br><code>${shortCommit(s.lastCompose.commit)}</code> ${when(s.lastCompose.time)}
<br><a href="${pathOf('chains', s.lastCompose.correlationId)}">chain</a>${s.lastCompose.version ? html` · <a href="${pathOf('candidates', s.group, s.lastCompose.version)}">candidate</a>` : ''}`
    : html`<span class="muted">none yet</span>`}</td>
<td>${queued(s)}</td>
<td>${commandForm({ topic: 'relengd.compose.request', label: 'Compose now', fields: { stream: s.id } }, rules)}</td></tr>`,
)}</tbody></table>
<h2>Groups</h2>
<table><thead><tr><th>Group</th><th>Release</th><th>Release candidates</th><th></th></tr></thead><tbody>
${groups.map((group) => {
  const release = releaseOf(group);
  return html`<tr id="group-${group}"><td><b>${group}</b></td><td class="release">${release ? releaseCell(release) : html`<span class="muted">not promoted</span>`}</td>
<td>${candidateLinks(candidates.filter((c) => c.group === group))}</td>
<td>${commandForm({ topic: 'relengd.compose.request', label: 'Compose all arches now', fields: { group } }, rules)}
${release && release.rollbackTargets.length > 0 ? rollbackForm(release, rules) : ''}</td></tr>`;
})}
</tbody></table>`;
  return { title: 'Streams', body, scripts: [ACTIONS_SCRIPT] };
}

function refCell(r: RefView): Html {
  return html`<code>${r.ref}</code><br>${r.commit
    ? html`<code title="${r.commit}">${shortCommit(r.commit)}</code> ${r.version ?? ''} ${when(r.date)}`
    : html`<span class="muted">not in ${r.repo}</span>`}`;
}

function queued(s: StreamView): Html {
  const { composing } = s;
  if (!composing?.active && !composing?.pending) return html`<span class="muted">nothing</span>`;
  return html`${composing.active ? html`composing ${composing.active.version} (<a href="${pathOf('jobs', composing.active.jobId)}">job</a>)` : ''}
${composing.pending ? html`<br>then ${composing.pending.version}` : ''}`;
}

function candidateLinks(candidates: readonly CandidateSummary[]): Html {
  if (candidates.length === 0) return html`<span class="muted">none</span>`;
  // Newest first: versions of a group sort by their date and count.
  const newest = [...candidates].sort((a, b) => b.version.localeCompare(a.version, 'en', { numeric: true }));
  return html`${newest.map((c) => html`<a href="${pathOf('candidates', c.group, c.version)}">${c.version}</a> ${badge(c.phase)}<br>`)}`;
}

/** What the release refs hold, what was rolled back, and the newest rollback's outcome. */
function releaseCell(r: ReleaseView): Html {
  return html`${r.current ? html`<b>${r.current}</b>` : html`<span class="muted">none</span>`}
${r.rollingBack ? html`<br>${badge('running')} rolling back to ${r.rollingBack.toVersion} (<a href="${pathOf('jobs', r.rollingBack.jobId)}">job</a>)${r.rollingBack.awaitingSignatures ? ': its rollback commits wait for their signatures, no ref moved yet' : ''}` : ''}
${r.rolledBack.map((b) => html`<br>${badge('rolled-back')} ${b.version} <span class="muted">by ${b.by ?? 'an unauthenticated sender'} ${when(b.at)}</span>`)}
${r.lastRollback ? html`<br><span class="muted">last rollback:</span> ${badge(r.lastRollback.outcome)} ${r.lastRollback.detail} ${eventLink(r.lastRollback.event)}` : ''}`;
}

/** Back to an earlier promoted version: the previous one unless the operator picks another. Offered only where there is one. */
function rollbackForm(r: ReleaseView, rules: CommandRules): Html {
  const options = [{ value: '', label: 'the previous release' }, ...r.rollbackTargets.map((v) => ({ value: v, label: v }))];
  return commandForm({ topic: 'relengd.release.rollback.requested', label: 'Roll back', fields: { group: r.group }, choice: { name: 'toVersion', label: 'to', options } }, rules);
}
