/** Archived messages as catch-up sources; a bad entry is reported (`onProblem`) and skipped. */
import { readFileSync } from 'node:fs';
import type { BatchSource } from '../../pipeline/catch-up.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import { archiveEntryToDelivery, decodeArchive, type ArchiveProblem } from './codec.ts';
import { datagrepperPages, type DatagrepperQuery } from './datagrepper.ts';

/** An archive file (a datagrepper page, or JSON lines): one batch; problems name their line. */
export function archiveFileSource(path: string, onProblem: (problem: ArchiveProblem) => void): BatchSource {
  return async (each) => {
    const decoded = decodeArchive(readFileSync(path, 'utf8'));
    decoded.problems.forEach(onProblem);
    await each(decoded.deliveries);
  };
}

/** datagrepper's `/v2/search`, a batch per page as it arrives; problems name the entry's position, counted from 1. */
export function datagrepperSource(baseUrl: string, query: DatagrepperQuery, options: { fetchImpl?: typeof fetch | undefined; onProblem?: (problem: ArchiveProblem) => void } = {}): BatchSource {
  return async (each) => {
    let position = 0;
    for await (const entries of datagrepperPages(baseUrl, query, options.fetchImpl)) {
      const deliveries: Delivery[] = [];
      for (const entry of entries) {
        position++;
        const delivery = archiveEntryToDelivery(entry);
        if (typeof delivery === 'string') options.onProblem?.({ line: position, error: delivery });
        else deliveries.push(delivery);
      }
      await each(deliveries);
    }
  };
}
