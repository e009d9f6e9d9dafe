/**
 * Operator actions on the pages: each is a small form whose script posts its command as a
 * CloudEvent to `POST /events`, the ingest every other client uses, with `Authorization: Bearer`
 * and the token the operator pasted. The daemon decides as it decides for the CLI (src/trust.ts:
 * command topics only from an authenticated publisher that `publishers` allows): an unknown token
 * is answered 401, an identity not allowed 403, and the page shows the answer.
 *
 * No cookie or other ambient credential exists: the token lives in this tab's sessionStorage and
 * is added by the script. Another site can make a browser send requests here, but never with the
 * token, so there is no cross-site request forgery to defend against (and no CSRF token).
 */
import { cloudEventTypeOf } from '../../events/relengd/index.ts';
import { COMMAND_TOPICS } from '../../trust.ts';
import { html, type Html } from './html.ts';
import type { CommandRules } from './reads.ts';

export interface CommandForm {
  /** A command topic (src/trust.ts COMMAND_TOPICS). */
  topic: string;
  /** The button. */
  label: string;
  /** The command's body, fixed by the page (group and version, a job id). */
  fields: Record<string, string>;
  /** Offer `force` (promote now, skipping fast-forward checks). */
  force?: boolean;
  /** One field the operator picks from values the page knows (a rollback's target version); the empty value sends nothing. */
  choice?: { name: string; label: string; options: ReadonlyArray<{ value: string; label: string }> };
}

/** The token field the forms' script reads; shown once on a page with actions. */
export function operatorPanel(): Html {
  return html`<section id="operator"><label>Operator token <input id="token" type="password" autocomplete="off" spellcheck="false" size="40"></label>
<small class="muted">kept in this browser tab only (sessionStorage), sent as <code>Authorization: Bearer</code> with each action; the daemon checks it against <code>publishers</code>.</small></section>`;
}

/** One command as a form: hidden fields, an optional comment, the button and where the answer appears. */
export function commandForm(form: CommandForm, rules: CommandRules): Html {
  if (!COMMAND_TOPICS.has(form.topic)) throw new Error(`${form.topic} is not a command topic`);
  const allowed = rules[form.topic] ?? [];
  const who = allowed.length > 0 ? `accepted from ${allowed.join(', ')}` : `no publisher may send ${form.topic} (publishers.${form.topic})`;
  const { choice } = form;
  return html`<form class="action" data-type="${cloudEventTypeOf(form.topic)}">${Object.entries(form.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
${choice ? html`<label>${choice.label} <select name="${choice.name}">${choice.options.map((o) => html`<option value="${o.value}">${o.label}</option>`)}</select></label>` : ''}
<input name="comment" placeholder="comment (optional)" maxlength="4096">${form.force ? html`<label><input type="checkbox" name="force"> force</label>` : ''}
<button type="submit">${form.label}</button> <small class="muted">${who}</small> <output></output></form>`;
}

/** Posts a form's command as a structured-mode CloudEvent; shows the daemon's answer beside the button. */
export const ACTIONS_SCRIPT = `
const tokenKey = 'relengd.token';
const tokenInput = document.getElementById('token');
tokenInput.value = sessionStorage.getItem(tokenKey) ?? '';
tokenInput.addEventListener('input', () => sessionStorage.setItem(tokenKey, tokenInput.value.trim()));
// Each request is its own decision: a fresh id, so a retry after a refusal is not taken for a duplicate.
const freshId = () => 'dashboard-' + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
for (const form of document.querySelectorAll('form[data-type]')) {
  form.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const out = form.querySelector('output');
    const data = {};
    for (const field of form.elements) {
      if (!field.name) continue;
      if (field.type === 'checkbox') { if (field.checked) data[field.name] = true; }
      else if (field.value !== '') data[field.name] = field.value;
    }
    const headers = { 'content-type': 'application/cloudevents+json' };
    const token = sessionStorage.getItem(tokenKey);
    if (token) headers.authorization = 'Bearer ' + token;
    const event = { specversion: '1.0', id: freshId(), source: '/relengd/dashboard', type: form.dataset.type, datacontenttype: 'application/json', data };
    out.className = '';
    out.textContent = 'sending…';
    try {
      const response = await fetch('/events', { method: 'POST', headers, body: JSON.stringify(event) });
      const reply = await response.json().catch(() => ({}));
      out.className = response.ok ? 'ok' : 'refused';
      out.textContent = response.ok
        ? 'accepted (' + response.status + '), event ' + reply.id + ': reload to see its effect'
        : 'refused: ' + response.status + ' ' + (reply.reason ?? '') + ': ' + (reply.error ?? '');
    } catch (error) {
      out.className = 'refused';
      out.textContent = 'not sent: ' + error;
    }
  });
}
`;
