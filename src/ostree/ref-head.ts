import { openRepo } from './repo.ts';

/** A ref, the commit it points at, and that commit's `version` metadata and time. */
export interface RefHead {
  ref: string;
  repo: string;
  commit: string | null;
  /** The commit's `version` metadata. */
  version: string | null;
  /** The commit's timestamp (ISO 8601). */
  date: string | null;
}

const COMMIT_HEADERS_KEPT = 256;

/**
 * Reads refs' heads (a missing repository or ref reads as no commit). Commits never change: the
 * reader it returns reads each one's version and date once, so a page polled every few seconds
 * costs one `rev-parse` per ref.
 */
export function refHeadReader(): (repoPath: string, ref: string) => Promise<RefHead> {
  const headers = new Map<string, { version: string | null; date: string }>();
  return async (repoPath, ref) => {
    const repo = openRepo(repoPath);
    const none: RefHead = { ref, repo: repo.path, commit: null, version: null, date: null };
    if (!repo.exists()) return none;
    const commit = await repo.revParse(ref);
    if (commit === null) return none;
    const key = `${repo.path}\0${commit}`;
    let header = headers.get(key);
    if (!header) {
      const { version, date } = await repo.show(commit);
      header = { version, date };
      if (headers.size >= COMMIT_HEADERS_KEPT) headers.delete(headers.keys().next().value!);
      headers.set(key, header);
    }
    return { ...none, commit, ...header };
  };
}
