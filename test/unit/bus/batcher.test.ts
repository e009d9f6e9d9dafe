/**
 * Group commit for one-at-a-time producers (HTTP requests): what is submitted in one turn of the
 * event loop is accepted as one batch, and each submitter gets its own delivery's outcome.
 */
import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../../src/bus/batcher.ts';
import type { Delivery, Outcome } from '../../../src/pipeline/intake.ts';

function delivery(id: string): Delivery {
  return { transport: 'http', raw: Buffer.from('{}'), headers: {}, decoded: { topic: 'bodhi.compose.complete', id, data: {} } };
}

const idOf = (d: Delivery): string => (d.decoded as { id: string }).id;

/** An accept that records its batches and answers each delivery with an outcome naming it. */
function recordingAccept() {
  const batches: string[][] = [];
  const accept = (batch: readonly Delivery[]): Outcome[] => {
    batches.push(batch.map(idOf));
    return batch.map((d) => (idOf(d).startsWith('dup') ? { kind: 'duplicate', id: idOf(d) } : { kind: 'committed', id: idOf(d) }));
  };
  return { batches, accept };
}

describe('createBatcher', () => {
  it('accepts deliveries submitted together in one batch, in order, and gives each submitter its own outcome', async () => {
    const { batches, accept } = recordingAccept();
    const submit = createBatcher(accept);
    const outcomes = await Promise.all(['a', 'dup-b', 'c'].map((id) => submit(delivery(id))));
    expect(batches).toEqual([['a', 'dup-b', 'c']]);
    expect(outcomes).toEqual([
      { kind: 'committed', id: 'a' },
      { kind: 'duplicate', id: 'dup-b' },
      { kind: 'committed', id: 'c' },
    ]);
  });

  it('starts a new batch for what is submitted after the previous one was accepted', async () => {
    const { batches, accept } = recordingAccept();
    const submit = createBatcher(accept);
    await submit(delivery('first'));
    await Promise.all([submit(delivery('second')), submit(delivery('third'))]);
    expect(batches).toEqual([['first'], ['second', 'third']]);
  });

  it('splits a burst into batches of at most maxBatch, each outcome still reaching its submitter', async () => {
    const { batches, accept } = recordingAccept();
    const submit = createBatcher(accept, 2);
    const outcomes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => submit(delivery(id))));
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(outcomes.map((o) => (o as { id: string }).id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('answers every waiting submitter retry-later when accept throws, instead of leaving them waiting', async () => {
    const fault = new Error('accept bug');
    const submit = createBatcher(() => {
      throw fault;
    });
    const outcomes = await Promise.all([submit(delivery('a')), submit(delivery('b'))]);
    expect(outcomes).toEqual([
      { kind: 'retry-later', error: fault },
      { kind: 'retry-later', error: fault },
    ]);
    // The batcher keeps working for later submissions.
    expect(await submit(delivery('c'))).toEqual({ kind: 'retry-later', error: fault });
  });
});
