import { join } from 'node:path';
import { systemClock } from '../../src/clock.ts';
import { parseConfig, type Config } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { Dispatcher } from '../../src/pipeline/dispatcher.ts';
import { Intake, type Delivery } from '../../src/pipeline/intake.ts';
import { allListeners } from '../../src/pipeline/listeners/index.ts';
import { Router } from '../../src/pipeline/router.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';

/** A two-arch, gated group: every listener has work to consider on replay. */
export function benchConfigYaml(dir: string): string {
  const stream = (arch: string) => `
  - id: f26-atomic-host-${arch}
    group: f26-atomic-host
    release: "26"
    arch: ${arch}
    triggers: { updatesRepos: [f26-updates], tags: [{ tag: f26-atomic, action: artifacts }] }
    ostree:
      repo: ${join(dir, 'repo')}
      ref: fedora/26/${arch}/updates/atomic-host
      treefile: fedora-atomic-host.json
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "--write-commitid-to={commitIdFile}", "{treefile}"]
    artifacts:
      - { name: installer, kind: installer, platform: metal, format: iso, failable: true, output: "{outputDir}/boot.iso", command: [lorax, "{outputDir}"] }
    promote:
      ref: fedora/26/${arch}/atomic-host
      gates: [{ greenwave: { decisionContext: atomic_two_week } }, { resultsdb: { testcases: [atomic.host.smoke] } }]`;
  return `store: { path: ${join(dir, 'relengd.db')} }
jobs: { workdir: ${join(dir, 'jobs')} }
log: { level: warn }
streams:${stream('x86_64')}${stream('aarch64')}
`;
}

/**
 * A realistic day of bus traffic, `count` messages: mostly builds tagged and repos mashed that no
 * stream composes from, some mashes of the stream's repo, Greenwave decisions and ResultsDB
 * results.
 */
function message(i: number): Delivery {
  const time = new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString();
  const kind = i % 10;
  const [topic, data] =
    kind < 4
      ? ['org.fedoraproject.prod.buildsys.tag', { tag: `f${30 + (i % 12)}-updates-candidate`, name: `pkg${i}`, version: '1.0', release: `${i}.fc41`, build_id: i, user: 'bodhi', owner: 'someone', tag_id: 1 }]
      : kind < 7
        ? ['org.fedoraproject.prod.bodhi.compose.complete', { repo: `f${30 + (i % 12)}-updates-testing`, success: true, ctype: 'rpm', agent: 'bodhi' }]
        : kind < 8
          ? ['org.fedoraproject.prod.bodhi.compose.complete', { repo: 'f26-updates', success: i % 20 !== 7, ctype: 'rpm', agent: 'bodhi' }]
          : kind < 9
            ? ['org.fedoraproject.prod.greenwave.decision.update', { decision_context: 'atomic_two_week', subject_type: 'compose', subject_identifier: `f26-atomic-host-26.2026110${i % 9}.${i % 3}`, policies_satisfied: i % 2 === 0, summary: 'x' }]
            : ['org.fedoraproject.prod.resultsdb.result.new', { id: i, outcome: i % 3 ? 'PASSED' : 'FAILED', testcase: { name: 'atomic.host.smoke' }, data: { item: [`compose-${i}`], type: ['compose'] } }];
  return { transport: 'bench', raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: { topic, id: `bench-${i}`, time, data } };
}

/** Stores `count` messages and dispatches them once, as the daemon would have. */
export async function populateStore(dir: string, count: number): Promise<{ config: Config; seconds: number }> {
  const config = parseConfig(benchConfigYaml(dir), {});
  const store = SqliteStore.open(config.store.path);
  const logger = silentLogger();
  const intake = new Intake({ store, config, clock: systemClock, logger });
  const dispatcher = new Dispatcher({ store, router: new Router(allListeners), config, clock: systemClock, logger, batchSize: 1000 });
  const started = performance.now();
  for (let i = 0; i < count; i += 1000) await intake.accept(Array.from({ length: Math.min(1000, count - i) }, (_, k) => message(i + k)));
  await dispatcher.drain();
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return { config, seconds };
}
