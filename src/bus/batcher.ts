import type { Delivery, Outcome } from '../pipeline/intake.ts';

/**
 * Group commit for one-at-a-time producers (HTTP requests): deliveries submitted in the same
 * turn of the event loop are stored in one transaction, one fsync for all of them.
 */
export function createBatcher(accept: (batch: readonly Delivery[]) => Outcome[], maxBatch = 500): (d: Delivery) => Promise<Outcome> {
  let queue: Array<{ delivery: Delivery; resolve: (o: Outcome) => void }> = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      let outcomes: Outcome[];
      try {
        outcomes = accept(batch.map((b) => b.delivery));
      } catch (error) {
        // Thrown in a timer callback, this would crash the process and leave every submitter waiting.
        outcomes = batch.map(() => ({ kind: 'retry-later', error }));
      }
      batch.forEach((b, i) => b.resolve(outcomes[i]!));
    }
  };
  return (delivery) =>
    new Promise<Outcome>((resolve) => {
      queue.push({ delivery, resolve });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
