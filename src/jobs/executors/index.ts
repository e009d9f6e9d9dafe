import type { OstreeRepo } from '../../ostree/index.ts';
import type { Executor } from '../executor.ts';
import { artifactExecutor } from './artifact.ts';
import { composeExecutor } from './compose.ts';
import { imageIndexExecutor } from './image-index.ts';
import { promoteExecutor } from './promote.ts';
import { pungiCommitExecutor } from './pungi-commit.ts';
import { rollbackExecutor } from './rollback.ts';
import { signVerifyExecutor } from './sign-verify.ts';
import { signWaitExecutor, type SignPoll } from './sign-wait.ts';
import { signWatchExecutor } from './sign-watch.ts';
import type { SigningStand } from './sign-specs.ts';

export { composeFiles } from './compose.ts';
export { SOURCE_COMMIT_KEY } from './promote.ts';
export { DEFAULT_SIGN_POLL, type SignPoll } from './sign-wait.ts';
export type { SigningStand } from './sign-specs.ts';

/** The executors of every job kind the listeners enqueue. */
export function allExecutors(deps: {
  openRepo: (path: string) => OstreeRepo;
  generator: string;
  signPoll?: SignPoll | undefined;
  /** Where the signing saga's records say a commit's signing stands: signing waits nothing needs any more end. */
  signingStand?: ((commit: string) => Promise<SigningStand | null>) | undefined;
}): Executor[] {
  return [composeExecutor(deps), artifactExecutor(), promoteExecutor(deps), rollbackExecutor(deps), pungiCommitExecutor(deps), imageIndexExecutor(), signWaitExecutor(deps), signVerifyExecutor(deps), signWatchExecutor(deps)];
}
