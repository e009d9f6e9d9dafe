/** `triggers.schedule`: cron expressions and time zones are checked when the config loads, with messages that say what is wrong. */
import { describe, expect, it } from 'vitest';
import { configProblems, parseConfig } from '../../../src/config/index.ts';
import { scheduledConfigYaml } from '../../helpers/schedule.ts';

const problems = (schedule: string) => configProblems(scheduledConfigYaml('/srv/relengd', schedule), {}, 'relengd.yaml').map((p) => [p.keyPath, p.message]);

describe('triggers.schedule', () => {
  it('defaults to UTC, compose, and catching up the latest missed slot', () => {
    const config = parseConfig(scheduledConfigYaml('/srv/relengd', '{ cron: "0 5 * * *" }'), {});
    expect(config.streams[0]!.triggers.schedule).toEqual([{ cron: '0 5 * * *', timezone: 'UTC', action: 'compose', catchUp: 'latest' }]);
  });

  it('takes nicknames and IANA time zones', () => {
    expect(problems('{ cron: "@daily", timezone: America/New_York, action: artifacts, catchUp: none }')).toEqual([]);
  });

  it.each([
    ['61 5 * * *', 'Invalid value for minute: 61'],
    ['0 5 * *', 'not a cron expression (five fields'],
    ['0 0 5 * * *', "requires exactly 5 parts, but pattern '0 0 5 * * *' has 6"],
    ['0 5 31 2 *', 'never fires'],
  ])('refuses the cron expression %s, naming its key', (cron, message) => {
    const found = problems(`{ cron: "${cron}" }`);
    expect(found[0]![0]).toBe('streams[0].triggers.schedule[0].cron');
    expect(found[0]![1]).toContain(message);
  });

  it('refuses a time zone that is not an IANA name', () => {
    const [keyPath, message] = problems('{ cron: "0 5 * * *", timezone: Mars/Olympus_Mons }')[0]!;
    expect(keyPath).toBe('streams[0].triggers.schedule[0].timezone');
    expect(message).toMatch(/: not an IANA time zone \(e\.g\. UTC, Europe\/Prague, America\/New_York\) \(relengd\.yaml:12:\d+\)$/);
  });

  it('refuses streams of a group that share a schedule but not how it catches up', () => {
    const yaml = scheduledConfigYaml('/srv/relengd', '{ cron: "0 5 * * *" }').replace('schedule: [{ cron: "0 5 * * *" }]', 'schedule: [{ cron: "0 5 * * *", catchUp: none }]');
    const found = configProblems(yaml, {}, 'relengd.yaml');
    expect(found.map((p) => p.keyPath)).toEqual(['streams[1].triggers.schedule[0].catchUp']);
    expect(found[0]!.message).toContain('but streams[0].triggers.schedule[0] of group "f26-atomic-host" has "none"');
  });
});
