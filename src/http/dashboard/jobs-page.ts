import { ACTIONS_SCRIPT, commandForm, operatorPanel } from './actions.ts';
import { html, pathOf } from './html.ts';
import { badge, duration, when, type Page } from './layout.ts';
import type { CommandRules, JobView } from './reads.ts';

/** `/jobs`: newest first, with state, duration, attempts and log. */
export function jobsPage(jobs: readonly JobView[], limit: number): Page {
  const body = html`<p class="muted">the ${limit} newest jobs</p>
<table><thead><tr><th>Created</th><th>State</th><th>Kind</th><th>Queue</th><th>Duration</th><th>Attempts</th><th>Log</th></tr></thead><tbody>
${jobs.map(
  (j) => html`<tr><td>${when(j.createdAt)}</td><td>${badge(j.state)}</td><td><a href="${pathOf('jobs', j.id)}">${j.kind}</a></td><td><code>${j.queueKey}</code></td>
<td>${duration(j.durationMs)}</td><td>${j.attempts}${j.retries > 0 ? html` <span class="muted">(${j.retries} retries)</span>` : ''}</td><td><code>${j.logPath ?? '—'}</code></td></tr>`,
)}${jobs.length === 0 ? html`<tr><td colspan="7" class="muted">no jobs</td></tr>` : ''}</tbody></table>`;
  return { title: 'Jobs', body };
}

/** `/jobs/<id>`: the job, retry and cancel, and its log followed live over server-sent events while it runs. */
export function jobPage(j: JobView, rules: CommandRules): Page {
  const fields = { jobId: j.id };
  const body = html`<table><tbody>
<tr><th>State</th><td><span id="job-state">${badge(j.state)}</span>${j.error ? html` <span>${j.error}</span>` : ''}</td></tr>
<tr><th>Kind</th><td>${j.kind} <span class="muted">decided by ${j.listener}</span></td></tr>
<tr><th>Queue</th><td><code>${j.queueKey}</code></td></tr>
<tr><th>Created</th><td>${when(j.createdAt)}</td></tr>
<tr><th>Started</th><td>${when(j.startedAt)}</td></tr>
<tr><th>Finished</th><td>${when(j.finishedAt)}</td></tr>
<tr><th>Duration</th><td>${duration(j.durationMs)}</td></tr>
<tr><th>Attempts</th><td>${j.attempts}${j.retries > 0 ? ` (${j.retries} retries by an operator)` : ''}</td></tr>
<tr><th>Chain</th><td><a href="${pathOf('chains', j.correlationId)}"><code>${j.correlationId}</code></a></td></tr>
<tr><th>Log</th><td><code>${j.logPath ?? 'none: never started'}</code></td></tr>
</tbody></table>
${operatorPanel()}
${commandForm({ topic: 'relengd.job.retry.requested', label: 'Retry', fields }, rules)}
${commandForm({ topic: 'relengd.job.cancel.requested', label: 'Cancel', fields }, rules)}
<h2>Log <small id="log-status" class="muted">connecting…</small></h2>
<pre class="log" id="log"></pre>
<h2>Spec</h2><pre>${JSON.stringify(j.spec, null, 2)}</pre>`;
  return { title: `Job ${j.id}`, body, scripts: [ACTIONS_SCRIPT, LOG_SCRIPT] };
}

/**
 * Follows `/jobs/<id>/log`: each message is lines of the log, the `end` event says the job ended
 * (and how). Text is appended as text, never parsed as markup.
 */
const LOG_SCRIPT = `
const logView = document.getElementById('log');
const logStatus = document.getElementById('log-status');
const source = new EventSource(location.pathname.replace(/\\/$/, '') + '/log');
source.onopen = () => { logStatus.textContent = 'following'; };
source.onmessage = (message) => {
  const follow = logView.scrollTop + logView.clientHeight >= logView.scrollHeight - 4;
  logView.append(message.data + '\\n');
  if (follow) logView.scrollTop = logView.scrollHeight;
};
source.addEventListener('end', (end) => {
  source.close();
  logStatus.textContent = 'job ended: ' + end.data;
  const state = document.querySelector('#job-state .state');
  state.textContent = end.data;
  state.className = 'state ' + end.data;
});
source.onerror = () => { if (source.readyState !== EventSource.CLOSED) logStatus.textContent = 'reconnecting…'; };
`;
