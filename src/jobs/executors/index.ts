import type { OstreeRepo } from '../../ostree/index.ts';
import type { Executor } from '../executor.ts';
import { artifactExecutor } from './artifact.ts';
import { composeExecutor } from './compose.ts';
import { promoteExecutor } from './promote.ts';
import { pungiCommitExecutor } from './pungi-commit.ts';
import { rollbackExecutor } from './rollback.ts';

export { composeFiles } from './compose.ts';
export { SOURCE_COMMIT_KEY } from './promote.ts';

/** The executors of every job kind the listeners enqueue. */
export function allExecutors(deps: { openRepo: (path: string) => OstreeRepo; generator: string }): Executor[] {
  return [composeExecutor(deps), artifactExecutor(), promoteExecutor(deps), rollbackExecutor(deps), pungiCommitExecutor(deps)];
}
