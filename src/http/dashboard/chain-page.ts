import { clip, html, pathOf } from './html.ts';
import { badge, when, type Page } from './layout.ts';
import type { ChainView, TimelineEntry } from './reads.ts';

/** Bytes of an event's data shown when no summary line says what happened. */
const DATA_SHOWN = 400;

/**
 * `/chains/<correlationId>`: what one message set off, in the order relengd stored it (Bodhi message
 * → compose → artifacts → compose.finished), with the gating messages and the promotion of the
 * candidate it made, which carry their own correlation ids and are marked as related.
 */
export function chainPage(chain: ChainView): Page {
  const body = html`<p>correlation id <code>${chain.correlationId}</code>${chain.cut ? html` · <b>the first ${chain.entries.length} events only</b>` : ''}${chain.candidates.map(
    (c) => html` · candidate <a href="${pathOf('candidates', c.group, c.version)}">${c.group} ${c.version}</a> ${badge(c.phase)}`,
  )}</p>
${chain.entries.length === 0
    ? html`<p class="muted">no stored event has this correlation id</p>`
    : html`<table id="timeline"><thead><tr><th>Time</th><th>Topic</th><th>What happened</th></tr></thead><tbody>${chain.entries.map(row)}</tbody></table>
<p><a href="/replay?correlation=${encodeURIComponent(chain.correlationId)}">Replay this chain</a> <span class="muted">(a dry run first)</span></p>`}`;
  return { title: 'Chain', body };
}

function row(e: TimelineEntry) {
  const from = e.event.publisher ? html` from <b>${e.event.publisher}</b>` : '';
  const origin = e.origin === 'inbound' ? html`<span class="muted">received${from}</span>` : html`<span class="muted">emitted</span>`;
  const related = e.related ? html`<br><span class="muted">related: <a href="${pathOf('chains', e.event.correlationId)}">its chain</a></span>` : '';
  return html`<tr class="${e.related ? 'related' : ''}"><td>${when(e.event.time)}</td><td><code>${e.event.topic}</code><br>${origin}${related}</td>
<td>${e.summary ?? html`<code>${clip(JSON.stringify(e.data) ?? 'null', DATA_SHOWN)}</code>`}</td></tr>`;
}
