import { html, pathOf } from './html.ts';
import { badge, bytes, duration, when, type Page } from './layout.ts';
import type { FailedEventView, HealthView, RejectionView } from './reads.ts';

/** `/rejected`: the transport's health and lag (with the broker's backlog and the watched topics), rejected (dead-lettered) messages and events whose listeners failed. */
export function rejectedPage(health: HealthView, rejections: readonly RejectionView[], failed: readonly FailedEventView[], limit: number): Page {
  const quiet = health.lastInbound ? Date.parse(health.now) - Date.parse(health.lastInbound) : null;
  const outboxAge = health.outboxOldest ? Date.parse(health.now) - Date.parse(health.outboxOldest) : null;
  const body = html`<h2>Transport</h2>
<table id="health"><tbody>
<tr><th>Transport</th><td>${health.transport} ${badge(health.ready ? 'ready' : 'not-ready')} ${health.connected ? 'connected' : 'not connected'}</td></tr>
<tr><th>Last inbound message</th><td>${when(health.lastInbound)}${quiet === null ? '' : html` <span class="muted">(${duration(quiet)} ago)</span>`}</td></tr>
<tr><th>Outbox pending</th><td>${health.outboxPending}${outboxAge === null ? '' : html` <span class="muted">(oldest waiting ${duration(outboxAge)})</span>`}</td></tr>
<tr><th>Events waiting for the listeners</th><td>${health.dispatchPending}</td></tr>
<tr><th>Broker backlog</th><td>${'messages' in health.backlog ? html`${health.backlog.messages} <span class="muted">message(s) waiting on the broker for relengd</span>` : html`<span class="muted">unknown: ${health.backlog.unknown}</span>`}</td></tr>
</tbody></table>
<h2>Watched topics</h2>
<p class="muted">Topics that must not go quiet (<code>watch</code>): past its quietHours without a message, a topic is reported once as <code>relengd.bus.silent</code> (a feed that stopped, or a consumer that did).</p>
<table id="silence"><thead><tr><th>Topic</th><th>State</th><th>Last message</th><th>Quiet after</th><th>Reported</th></tr></thead><tbody>
${health.silence.map((t) => {
  const age = t.lastSeen ? Date.parse(health.now) - Date.parse(t.lastSeen) : null;
  return html`<tr><td><code>${t.topic}</code></td><td>${badge(t.silent ? 'silent' : 'heard')}</td>
<td>${t.lastSeen ? html`${when(t.lastSeen)} <span class="muted">(${duration(age)} ago)</span>` : html`<span class="muted">none stored</span>`}</td>
<td>${t.quietHours} h</td><td>${t.reported ? html`<a href="${pathOf('chains', t.reported.correlationId)}">${t.reported.topic}</a> ${when(t.reported.time)}` : html`<span class="muted">—</span>`}</td></tr>`;
})}${health.silence.length === 0 ? html`<tr><td colspan="5" class="muted">no topic is watched (configure <code>watch: [{topic, quietHours}]</code>)</td></tr>` : ''}</tbody></table>
<h2>Rejected messages</h2>
<p class="muted">Messages that never became events, with the reason; on AMQP they were also copied to the dead-letter queue. The ${limit} newest.</p>
<table id="rejected"><thead><tr><th>Received</th><th>Topic</th><th>Reason</th><th>Body</th></tr></thead><tbody>
${rejections.map(
  (r) => html`<tr><td>${when(r.receivedAt)}<br><span class="muted">${r.transport}${r.publisher ? html` from <b>${r.publisher}</b>` : ''}</span></td>
<td><code>${r.topic ?? '—'}</code>${r.messageId ? html`<br><span class="muted mono">${r.messageId}</span>` : ''}</td>
<td><b>${r.reason}</b>${r.field ? html` <code>${r.field}</code>` : ''}<br>${r.detail}</td>
<td><pre>${r.rawStart}${r.rawSize > Buffer.byteLength(r.rawStart) ? '…' : ''}</pre><span class="muted">${bytes(r.rawSize)}</span></td></tr>`,
)}${rejections.length === 0 ? html`<tr><td colspan="4" class="muted">none</td></tr>` : ''}</tbody></table>
<h2>Events whose listeners failed</h2>
<p class="muted">Stored, but a listener threw on each attempt: replay them after a fix (<code>relengd replay</code>, or the replay link).</p>
<table id="failed"><thead><tr><th>Time</th><th>Topic</th><th>Attempts</th><th>Error</th></tr></thead><tbody>
${failed.map(
  (f) => html`<tr><td>${when(f.event.time)}</td><td><a href="${pathOf('chains', f.event.correlationId)}"><code>${f.event.topic}</code></a><br><a href="/replay?id=${encodeURIComponent(f.event.id)}">replay</a></td><td>${f.attempts}</td><td>${f.error ?? ''}</td></tr>`,
)}${failed.length === 0 ? html`<tr><td colspan="4" class="muted">none</td></tr>` : ''}</tbody></table>`;
  return { title: 'Rejected messages and health', body };
}
