/**
 * The README's table of topics (who produces each, which listeners consume it) against the code:
 * every catalogue topic has a row, and its "consumed by" names exactly the listeners the router
 * dispatches it to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../../src/events/catalogue.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { Router } from '../../../src/pipeline/router.ts';

const README = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');

/** Rows of the table headed `| topic | produced by | consumed by |`: topic -> consumer names. */
function consumersInReadme(): Map<string, string[]> {
  const lines = README.split('\n');
  const start = lines.indexOf('| topic | produced by | consumed by |');
  expect(start, 'the README has the topic table').toBeGreaterThan(-1);
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [topic, , consumedBy] = line.split('|').slice(1, -1).map((cell) => cell.trim());
    rows.set(topic!.replace(/`/g, ''), consumedBy!.startsWith('—') ? [] : consumedBy!.split(',').map((name) => name.trim()));
  }
  return rows;
}

describe('README topic table', () => {
  const rows = consumersInReadme();
  const router = new Router(allListeners);

  it('has a row for every catalogue topic, and none other', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(catalogue).sort());
  });

  it.each(Object.keys(catalogue))('names the listeners that consume %s', (topic) => {
    expect(rows.get(topic)).toEqual(router.match(topic).map((listener) => listener.name));
  });
});
