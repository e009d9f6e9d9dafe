import { describe, expect, it } from 'vitest';
import { html } from '../../../src/http/dashboard/html.ts';
import { logMessage } from '../../../src/http/dashboard/log-stream.ts';

describe('dashboard markup', () => {
  it('escapes every value, so message text never becomes markup', () => {
    const hostile = `<script>alert(1)</script>" onmouseover="x' &amp;`;
    expect(html`<td title="${hostile}">${hostile}</td>`.text).toBe(
      '<td title="&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x&#39; &amp;amp;">&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x&#39; &amp;amp;</td>',
    );
  });

  it('keeps markup it built, renders lists item by item and leaves out null, undefined and false', () => {
    const items = ['a<', 'b'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}${null}${undefined}${false}</ul>`.text).toBe('<ul><li>a&lt;</li><li>b</li></ul>');
  });
});

describe('job log as server-sent events', () => {
  it('sends every log line as a data line, splitting at CR too, so no log text can start an event field', () => {
    const message = logMessage('compiling\rdone\r\nevent: end\ndata: forged\n', 42);
    expect(message).toBe('id: 42\ndata: compiling\ndata: done\ndata: event: end\ndata: data: forged\n\n');
    const fields = message.split('\n').filter((line) => line !== '').map((line) => line.slice(0, line.indexOf(':')));
    expect(new Set(fields)).toEqual(new Set(['id', 'data']));
  });
});
