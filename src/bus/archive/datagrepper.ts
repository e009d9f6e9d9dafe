import { z } from 'zod';
import { RelengdError } from '../../errors.ts';
import { retry, type RetryPolicy } from '../../retry.ts';

const Page = z.looseObject({ raw_messages: z.array(z.unknown()), pages: z.number().int().nonnegative(), total: z.number().optional() });

export class DatagrepperError extends RelengdError {
  readonly url: string;
  readonly status: number | null;
  constructor(url: string, status: number | null, message: string) {
    super(`datagrepper ${url}: ${message}`, { retriable: status === null || status >= 500 || status === 429 });
    this.url = url;
    this.status = status;
  }
}

export interface DatagrepperQuery {
  since: string;
  until?: string | undefined;
  /** Full topics (with prefix); none = every topic. */
  topics?: readonly string[] | undefined;
  rowsPerPage?: number | undefined;
}

const retryPolicy: RetryPolicy = { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.2, maxAttempts: 5 };

/**
 * Pages through datagrepper's `/v2/search` (oldest first) and yields each page's messages.
 * Transient failures (network, 5xx, 429) are retried; anything else stops with DatagrepperError.
 */
export async function* datagrepperPages(baseUrl: string, query: DatagrepperQuery, fetchImpl: typeof fetch = fetch, policy: RetryPolicy = retryPolicy): AsyncGenerator<unknown[]> {
  for (let page = 1; ; page++) {
    const url = new URL(`${baseUrl.replace(/\/$/, '')}/v2/search`);
    url.searchParams.set('start', query.since);
    if (query.until) url.searchParams.set('end', query.until);
    url.searchParams.set('order', 'asc');
    url.searchParams.set('page', String(page));
    url.searchParams.set('rows_per_page', String(query.rowsPerPage ?? 100));
    for (const topic of query.topics ?? []) url.searchParams.append('topic', topic);
    const body = await retry(async () => fetchPage(url.toString(), fetchImpl), policy);
    yield body.raw_messages;
    if (page >= body.pages) return;
  }
}

async function fetchPage(url: string, fetchImpl: typeof fetch): Promise<z.infer<typeof Page>> {
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new DatagrepperError(url, null, (error as Error).message);
  }
  if (!response.ok) throw new DatagrepperError(url, response.status, `HTTP ${response.status}`);
  const parsed = Page.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new DatagrepperError(url, response.status, 'the answer is not a datagrepper page ({raw_messages, pages})');
  return parsed.data;
}
