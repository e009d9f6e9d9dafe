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
      const outcomes = accept(batch.map((b) => b.delivery));
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
