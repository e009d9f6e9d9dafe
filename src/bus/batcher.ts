import type { Delivery, Outcome } from '../pipeline/intake.ts';

/**
 * Group commit for one-at-a-time producers (HTTP requests): deliveries submitted in the same
 * turn of the event loop are stored in one transaction, one fsync for all of them. Batches are
 * accepted one at a time, in order; what is submitted while one is being stored waits for the next.
 */
export function createBatcher(accept: (batch: readonly Delivery[]) => Outcome[] | Promise<Outcome[]>, maxBatch = 500): (d: Delivery) => Promise<Outcome> {
  let queue: Array<{ delivery: Delivery; resolve: (o: Outcome) => void }> = [];
  /** A flush is scheduled or running: it takes whatever is queued until the queue is empty. */
  let active = false;
  const flush = async (): Promise<void> => {
    for (;;) {
      if (queue.length === 0) {
        active = false; // in the same turn as the check: a submission after it schedules a new flush
        return;
      }
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      let outcomes: Outcome[];
      try {
        outcomes = await accept(batch.map((b) => b.delivery));
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
      if (!active) {
        active = true;
        setImmediate(() => void flush());
      }
    });
}
