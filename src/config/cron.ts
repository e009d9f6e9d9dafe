/**
 * Cron expressions and time zones: the one module that imports the cron library (croner), so the
 * grammar and the slot arithmetic have one owner. Expressions are crontab's five fields (minute,
 * hour, day of month, month, day of week; `@daily` and the other nicknames too), read in an IANA
 * time zone.
 */
import { Cron } from 'croner';

/** When a schedule fires: a crontab expression read in an IANA time zone. */
export interface CronSpec {
  readonly cron: string;
  readonly timezone: string;
}

function compile(spec: CronSpec): Cron {
  // No callback: croner only evaluates, it starts no timer of its own.
  return new Cron(spec.cron, { timezone: spec.timezone, mode: '5-part' });
}

/** Whether `timezone` is an IANA time zone name this Node.js knows (`UTC`, `Europe/Prague`). */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Why `spec` cannot be used, or undefined when it can (it parses and fires at least once from `from`). */
export function cronProblem(spec: CronSpec, from: Date = new Date()): string | undefined {
  let cron: Cron;
  try {
    cron = compile(spec);
  } catch (error) {
    return `not a cron expression (five fields: minute hour day-of-month month day-of-week, e.g. "0 5 * * *"): ${(error as Error).message.replace(/^CronPattern: /, '')}`;
  }
  return cron.nextRun(from) === null ? 'never fires (no date matches every field)' : undefined;
}

/** The first slot strictly after `after`; null when there is none. */
export function nextSlot(spec: CronSpec, after: Date): Date | null {
  return compile(spec).nextRun(after);
}

/** The latest slot at or before `at`; null when there is none. */
export function latestSlot(spec: CronSpec, at: Date): Date | null {
  // croner leaves out a run exactly at the reference: ask from 1 ms later.
  return compile(spec).previousRuns(1, new Date(at.getTime() + 1))[0] ?? null;
}
