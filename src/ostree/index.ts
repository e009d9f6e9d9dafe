/** Thin typed wrapper over the `ostree` CLI: one repository, argv arrays, parsed results. */
export { OstreeRepo, openRepo, MAX_ANCESTRY_DEPTH, REPO_MODES } from './repo.ts';
export type { RepoMode, SummaryOptions } from './repo.ts';
export { refHeadReader } from './ref-head.ts';
export type { RefHead } from './ref-head.ts';
export { commitArgs } from './commit.ts';
export type { CommitOptions, CommitTree } from './commit.ts';
export { execRun } from './run.ts';
export type { Run, RunResult } from './run.ts';
export { parseChecksum, parseGVariantString, parseLog, parseRefs, parseStaticDeltas } from './parse.ts';
export type { LogEntry, StaticDelta } from './parse.ts';
export { GPG_KEY_ID, madeByOneOf, parseGpgSignatures } from './gpg.ts';
export type { CommitSignature, SignatureStatus } from './gpg.ts';
export { classifyFailure } from './stderr.ts';
export type { OstreeFailure } from './stderr.ts';
export { assertChecksum, assertRef, isChecksum } from './validate.ts';
export { CommitNotFoundError, InvalidChecksumError, InvalidOstreeArgumentError, OstreeParseError } from './errors.ts';
