import { z } from 'zod';
import { OPERATOR_ROUTES } from '../../trust.ts';
import { ACTIONS_SCRIPT, operatorPanel } from './actions.ts';
import { html } from './html.ts';
import type { Page } from './layout.ts';
import type { CommandRules } from './reads.ts';

const REPLAY_VERB = 'relengd.replay.requested';

/** What the form starts with (`/replay?correlation=ID`, `?id=ID`): links from a chain or a failed event. */
export interface ReplayPrefill {
  since?: string | undefined;
  until?: string | undefined;
  topic?: string | undefined;
  correlation?: string | undefined;
  ids: string[];
}

/** A query value worth putting in a field: short visible ASCII; anything else starts the field empty (the route validates what is sent). */
const Word = z.string().max(256).regex(/^[\x21-\x7e]+$/).optional().catch(undefined);
const PrefillQuery = z.object({ since: Word, until: Word, topic: Word, correlation: Word });

export function replayPrefill(url: string | undefined): ReplayPrefill {
  const params = new URL(url ?? '/', 'http://relengd').searchParams;
  const fields = PrefillQuery.parse(Object.fromEntries([...params.entries()].filter(([name]) => name !== 'id')));
  const ids = params.getAll('id').filter((id) => Word.parse(id) !== undefined).slice(0, 100);
  return { ...fields, ids };
}

/**
 * `/replay`: the selection, its dry run (what the replay would emit, enqueue and run again) and only
 * then the button that performs that dry run. Both go to `POST /replay` with the operator's token.
 */
export function replayPage(prefill: ReplayPrefill, rules: CommandRules): Page {
  if (!OPERATOR_ROUTES.has(REPLAY_VERB)) throw new Error(`${REPLAY_VERB} is not an operator route`);
  const allowed = rules[REPLAY_VERB] ?? [];
  const who = allowed.length > 0 ? `allowed to ${allowed.join(', ')}` : `no publisher may replay (publishers.${REPLAY_VERB})`;
  const body = html`${operatorPanel()}
<p>Runs stored events through the listeners again: what was done stays as it is (every event and job has a derived id), what is missing is filled in, and finished jobs whose outcome event is missing run again. The dry run comes first and changes nothing; the replay then does what the dry run showed, or nothing if that changed meanwhile. <span class="muted">${who}</span></p>
<form id="replay-selection" class="selection">
<label>since <input name="since" value="${prefill.since ?? ''}" placeholder="2017-07-05T00:00:00Z or 6h" size="24"></label>
<label>until <input name="until" value="${prefill.until ?? ''}" placeholder="ISO time or 30m" size="24"></label>
<label>topic <input name="topic" value="${prefill.topic ?? ''}" placeholder="bodhi.compose.complete, relengd.#" size="28"></label>
<label>correlation <input name="correlation" value="${prefill.correlation ?? ''}" placeholder="the id that started a chain" size="40"></label>
<label>event ids <textarea name="ids" rows="2" cols="40" placeholder="one or more, separated by spaces">${prefill.ids.join('\n')}</textarea></label>
<button type="submit">Dry run</button> <output></output></form>
<section id="replay-plan" hidden>
<h2>What the replay does</h2>
<p id="replay-summary"></p>
<table id="replay-effects"><thead><tr><th></th><th>Topic or job</th><th>Id</th><th>Detail</th></tr></thead><tbody></tbody></table>
<p><button id="replay-perform" type="button">Replay</button> <output id="replay-result"></output></p>
</section>`;
  return { title: 'Replay', body, scripts: [ACTIONS_SCRIPT, REPLAY_SCRIPT] };
}

/**
 * Posts the selection for a dry run and shows it; the Replay button then posts the selection the
 * dry run answered with its confirm digest. Everything from the daemon is set as text, never as markup.
 * In a block: the actions script's names are its own.
 */
const REPLAY_SCRIPT = `{
const form = document.getElementById('replay-selection');
const formOut = form.querySelector('output');
const plan = document.getElementById('replay-plan');
const summary = document.getElementById('replay-summary');
const effects = document.querySelector('#replay-effects tbody');
const perform = document.getElementById('replay-perform');
const result = document.getElementById('replay-result');
let confirmed = null;
const post = async (body) => {
  const headers = { 'content-type': 'application/json' };
  const token = sessionStorage.getItem('relengd.token');
  if (token) headers.authorization = 'Bearer ' + token;
  const response = await fetch('/replay', { method: 'POST', headers, body: JSON.stringify(body) });
  return { response, reply: await response.json().catch(() => ({})) };
};
const say = (out, className, text) => { out.className = className; out.textContent = text; };
const refusal = (response, reply) => 'refused: ' + response.status + ' ' + (reply.reason ?? '') + ': ' + (reply.error ?? '');
const cell = (text, className) => { const td = document.createElement('td'); td.textContent = text; if (className) td.className = className; return td; };
const jobCell = (id) => {
  const link = document.createElement('a');
  link.href = '/jobs/' + encodeURIComponent(id);
  link.textContent = id;
  const td = cell('', 'mono');
  td.append(link);
  return td;
};
const row = (...cells) => { const tr = document.createElement('tr'); tr.append(...cells); return tr; };
const list = (r, verbs) => {
  effects.replaceChildren(
    ...r.emitted.map((e) => row(cell(verbs[0]), cell(e.topic, 'mono'), cell(e.id, 'mono'), cell((e.subject ? e.subject + ' ' : '') + '(' + e.listener + ')'))),
    ...r.enqueued.map((j) => row(cell(verbs[1]), cell(j.kind + ' job'), cell(j.id, 'mono'), cell(j.queueKey))),
    ...r.requeued.map((j) => row(cell(verbs[2]), cell(j.kind + ' job'), jobCell(j.id), cell('its outcome event ' + j.missing.join(', ') + ' is missing'))),
  );
  const shown = r.emitted.length + r.enqueued.length + r.requeued.length;
  const total = r.counts.emitted + r.counts.enqueued + r.counts.requeued;
  if (total === 0) effects.append(row(cell('nothing'), cell('everything the selection led to is done already')));
  else if (shown < total) effects.append(row(cell('…'), cell((total - shown) + ' more not listed')));
};
const counts = (r) => r.counts.emitted + ' event(s) emitted, ' + r.counts.enqueued + ' job(s) enqueued (' + r.counts.promotions + ' promotion(s)), ' + r.counts.requeued + ' finished job(s) run again';
const showPlan = (r) => {
  confirmed = { ...r.selection, confirm: r.confirm };
  summary.textContent = 'Dry run of ' + r.selected + ' stored event(s), nothing changed: the replay would give ' + counts(r) + '.';
  list(r, ['would emit', 'would enqueue', 'would re-run']);
  perform.disabled = false;
  say(result, '', '');
  plan.hidden = false;
};
form.addEventListener('submit', async (submit) => {
  submit.preventDefault();
  plan.hidden = true;
  confirmed = null;
  const body = {};
  for (const name of ['since', 'until', 'topic', 'correlation']) {
    const value = form.elements[name].value.trim();
    if (value !== '') body[name] = value;
  }
  const ids = form.elements.ids.value.split(/\\s+/).filter((id) => id !== '');
  if (ids.length > 0) body.ids = ids;
  say(formOut, '', 'dry run…');
  try {
    const { response, reply } = await post(body);
    if (!response.ok) return say(formOut, 'refused', refusal(response, reply));
    say(formOut, 'ok', 'dry run done');
    showPlan(reply);
  } catch (error) {
    say(formOut, 'refused', 'not sent: ' + error);
  }
});
perform.addEventListener('click', async () => {
  if (!confirmed) return;
  perform.disabled = true;
  say(result, '', 'replaying…');
  try {
    const { response, reply } = await post(confirmed);
    if (response.status === 409 && reply.plan) {
      showPlan(reply.plan);
      return say(result, 'refused', 'nothing replayed: ' + reply.error);
    }
    if (!response.ok) {
      perform.disabled = false;
      return say(result, 'refused', refusal(response, reply));
    }
    confirmed = null;
    summary.textContent = 'Replayed ' + reply.selected + ' stored event(s): ' + counts(reply) + '.';
    list(reply, ['emitted', 'enqueued', 're-run']);
    say(result, 'ok', 'replayed; recorded as relengd.replay.performed, asked by ' + reply.requestedBy + ': ');
    const record = document.createElement('a');
    record.href = '/chains/' + encodeURIComponent(reply.recorded.correlationId);
    record.textContent = 'the record';
    result.append(record);
  } catch (error) {
    perform.disabled = false;
    say(result, 'refused', 'not sent: ' + error);
  }
});
}`;
