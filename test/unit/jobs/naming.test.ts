import { describe, expect, it } from 'vitest';
import { describeEnd, tailLines } from '../../../src/jobs/process.ts';
import { jobDirName } from '../../../src/jobs/runner.ts';

describe('how a command ended, as the log footer says it', () => {
  it('says a command exited with its code', () => {
    expect(describeEnd({ exitCode: 0, signal: null, durationMs: 1234, timedOut: false, cancelled: false })).toBe('exited 0 after 1234 ms');
  });

  it('says a timed-out command was killed, by which signal, after its timeout', () => {
    expect(describeEnd({ exitCode: null, signal: 'SIGKILL', durationMs: 11_020, timedOut: true, cancelled: false }, 1000)).toBe('timed out after 1000 ms, killed by SIGKILL after 11020 ms');
  });

  it('says a cancelled command was cancelled', () => {
    expect(describeEnd({ exitCode: 143, signal: null, durationMs: 5, timedOut: false, cancelled: true })).toBe('cancelled, exited 143 after 5 ms');
  });
});

describe('the tail of a command output', () => {
  it('keeps the last lines and drops trailing newlines', () => {
    expect(tailLines('a\nb\nc\nd\n\n', 2)).toBe('c\nd');
  });

  it('keeps everything when the output is short', () => {
    expect(tailLines('only line\n')).toBe('only line');
  });
});

describe('a job directory name', () => {
  it('is the job id when the id is a plain file name (derived ids are UUIDs)', () => {
    expect(jobDirName('0b6f9a3e-0c1d-8e2f-9a3b-4c5d6e7f8091')).toBe('0b6f9a3e-0c1d-8e2f-9a3b-4c5d6e7f8091');
  });

  it('is a digest when the id could leave the jobs directory or is not a file name', () => {
    for (const id of ['../../etc', 'a/b', '.hidden', '', 'with space']) {
      const name = jobDirName(id);
      expect(name).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(jobDirName('a/b')).toBe(jobDirName('a/b'));
    expect(jobDirName('a/b')).not.toBe(jobDirName('a/c'));
  });
});
