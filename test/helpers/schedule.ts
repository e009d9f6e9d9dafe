import { testConfigYaml, type TestConfigOptions } from './config.ts';

/** The two-arch test config (testConfigYaml) with `schedule` (YAML flow items) as both streams' `triggers.schedule`. */
export function scheduledConfigYaml(dir: string, schedule: string, options: TestConfigOptions = {}): string {
  const yaml = testConfigYaml(dir, options);
  const triggers = 'triggers: { updatesRepos: [f26-updates], tags: [f26-atomic] }';
  if (!yaml.includes(triggers)) throw new Error('testConfigYaml changed its triggers line: update scheduledConfigYaml');
  return yaml.replaceAll(triggers, `triggers: { updatesRepos: [f26-updates], schedule: [${schedule}] }`);
}
