import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Html, html } from './html.ts';

/** A rendered view: the layout adds navigation, style and the scripts it asks for. */
export interface Page {
  title: string;
  body: Html;
  status?: number;
  /** Inline scripts (constants of this folder, never built from data). */
  scripts?: readonly string[];
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header{background:#263238;color:#fff;padding:.5rem 1rem;display:flex;gap:1.25rem;align-items:baseline}
header a{color:#cfd8dc;text-decoration:none}header a:hover{color:#fff}header b{color:#fff}
main{padding:1rem;max-width:80rem}
h1{font-size:1.35rem;margin:.25rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:.5rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eceff1;font-weight:600}
code,pre,.mono{font-family:ui-monospace,monospace;font-size:12.5px;overflow-wrap:anywhere}
pre{background:#fff;border:1px solid #e3e6ea;padding:.5rem;overflow:auto;white-space:pre-wrap;word-break:break-all}
pre.log{background:#111;color:#ddd;max-height:40rem}
.state{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:12px;font-weight:600;background:#eceff1}
.passed,.succeeded,.promoted,.FINISHED,.ready{background:#c8e6c9;color:#1b5e20}
.failed,.refused,.DOOMED,.cancelled,.not-ready{background:#ffcdd2;color:#b71c1c}
.pending,.queued,.open,.FINISHED_INCOMPLETE,.interrupted{background:#fff3c4;color:#7a5b00}
.running,.promoting{background:#bbdefb;color:#0d47a1}
.muted{color:#6b7280}.related td{background:#fafafa}
form.action{display:flex;gap:.4rem;align-items:center;flex-wrap:wrap;margin:.35rem 0}
form.action output{font-weight:600}output.ok{color:#1b5e20}output.refused{color:#b71c1c}
#operator{background:#fff;border:1px solid #e3e6ea;padding:.5rem;margin-bottom:1rem}
form.selection{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap;margin-bottom:1rem}form.selection label{display:flex;flex-direction:column;font-size:12.5px}
.silent{background:#ffcdd2;color:#b71c1c}.heard{background:#c8e6c9;color:#1b5e20}.rolled-back{background:#fff3c4;color:#7a5b00}
`;

const NAV = html`<header><b>relengd</b><a href="/">Streams</a><a href="/jobs">Jobs</a><a href="/rejected">Rejected &amp; health</a><a href="/replay">Replay</a></header>`;

/**
 * Sends a page. The Content-Security-Policy allows only this response's own inline style and
 * scripts (by nonce), same-origin fetches and nothing else: should an escape ever be missed,
 * injected markup still cannot run script, load anything or post a form elsewhere.
 */
export function sendPage(res: ServerResponse, page: Page): void {
  const nonce = randomBytes(16).toString('base64');
  const scripts = (page.scripts ?? []).map((script) => html`<script nonce="${nonce}">${constant(script)}</script>`);
  const text = `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${page.title} · relengd</title><style nonce="${nonce}">${constant(STYLE)}</style></head>
<body>${NAV}<main><h1>${page.title}</h1>${page.body}</main>${scripts}</body></html>`.text}\n`;
  res.writeHead(page.status ?? 200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** A constant of this folder (style sheet, script) put in a page as is: never data. */
function constant(text: string): Html {
  if (/<\/(script|style)/i.test(text)) throw new Error('an inline script or style must not close its element');
  return new Html(text);
}

/** An error page: 400 for a malformed path, 404 for what the store does not know. */
export function messagePage(status: number, title: string, message: string): Page {
  return { status, title, body: html`<p>${message}</p><p><a href="/">Back to the streams</a></p>` };
}

/** `2017-07-05 10:02:11Z` from an ISO time, in a <time> element. */
export function when(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  const shown = iso.replace('T', ' ').replace(/\.\d+(?=Z|[+-])/, '').replace('+00:00', 'Z');
  return html`<time datetime="${iso}">${shown}</time>`;
}

/** A state badge: its class is the state itself (styled above). */
export function badge(state: string): Html {
  return html`<span class="state ${state}">${state}</span>`;
}

/** `319 B`, `1.5 KiB`, `2.3 GiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) (value /= 1024), unit++;
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `850 ms`, `42 s`, `3 min 5 s`, `2 h 7 min`, `3 d 4 h`. */
export function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  const total = Math.round(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  if (h >= 48) return `${Math.floor(h / 24)} d ${h % 24} h`;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}
