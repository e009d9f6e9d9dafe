/** The job runner and what executors build on: the contract, commands, recovery. */
export { JobInterruptedError, pidFileIn, type Executor, type JobContext, type JobEmit, type JobOutcome } from './executor.ts';
export { awaitPreviousAttempt, type PreviousAttemptOptions } from './previous-attempt.ts';
export {
  CommandCancelledError,
  CommandNotStartedError,
  CommandTimedOutError,
  DEFAULT_KILL_GRACE_MS,
  isProcessAlive,
  runCommand,
  signalGroup,
  waitForExit,
  type CommandOptions,
  type CommandResult,
  type WaitForExitOptions,
} from './process.ts';
export { JOB_LOG, JobRunner, jobDirName, type JobRunnerOptions } from './runner.ts';
