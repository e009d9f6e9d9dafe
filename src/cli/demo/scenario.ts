import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EnvelopeInput } from '../../events/envelope.ts';
import type { PungiCommitPlan } from './standin-pungi.ts';

/**
 * The seed's two stories as relengd sees them. After a release (the two-week flow): Bodhi mashes
 * f26-updates, Koji regenerates the f26-atomic repo, Greenwave says the two-week tests passed.
 * Before one (the nightly flow): Pungi's nightly of the next release commits each arch in its
 * compose repository and finishes, Greenwave passes the compose, and relengd pulls the commits into
 * the public repository and promotes them. Recorded messages shaped like Fedora's (fixed ids and
 * times, so a second run is recognised as the same history), and the config that runs them with
 * stand-ins for rpm-ostree, lorax, koji and Pungi's ostree phase.
 */

export const DEMO_GROUP = 'f26-atomic-host';
export const DEMO_ARCHES = ['x86_64', 'aarch64'] as const;
/** {release}.{date}.{n} for the Bodhi push below: release 26, 2017-07-05, the day's first compose. */
export const DEMO_VERSION = '26.20170705.0';
/** The nightly of the pre-release story: its Pungi compose id is also the candidate's version. */
export const DEMO_PUNGI_GROUP = 'f27-atomic-host';
export const DEMO_PUNGI_COMPOSE = 'Fedora-27-20170820.n.0';

const standins = resolve(dirname(fileURLToPath(import.meta.url)));

export interface DemoStep {
  /** What happens, for the timeline. */
  title: string;
  /** What the world did before the message (Bodhi wrote the repo). */
  prepare?: { file: string; content: unknown };
  message: EnvelopeInput;
  /** Pungi's ostree phase before the message: the commit it makes is the message's `commitid`. */
  pungiCommit?: PungiCommitPlan;
}

/**
 * The daily schedule of the two-week streams (the seed's `twoweek-nightly.sh` from cron): installer
 * and images rebuilt from each stream's current commit at 05:00 UTC.
 */
export const DEMO_DAILY_CRON = '0 5 * * *';

/**
 * A slot of a schedule the story reaches: the demo moves the daemon's clock there and the calendar
 * fires it. A date of the recorded story, never today's, so a second run reaches the same slot.
 */
export interface DemoSlot {
  title: string;
  slot: string;
}

/** Where the pre-release story's Pungi commits (`/mnt/koji/compose/atomic/27/` in the seed). */
export const demoComposeRepo = (dir: string): string => join(dir, 'koji', 'compose', 'atomic', '27');
const nightlyRef = (arch: string): string => `fedora/27/${arch}/testing/atomic-host`;

export function demoSteps(dir: string): DemoStep[] {
  return [
    {
      title: 'Bodhi pushes f26-updates (the updates repo is mashed)',
      prepare: { file: join(dir, 'compose', 'f26-updates.json'), content: { packages: ['kernel-4.11.8-300.fc26', 'ostree-2017.7-1.fc26', 'rpm-ostree-2017.6-3.fc26', 'docker-1.13.1-19.git27e468e.fc26'] } },
      message: {
        topic: 'org.fedoraproject.prod.bodhi.compose.complete',
        id: '2017-6f0d1d5e-8b4a-4c1e-9d8e-5a1f0c2b7e01',
        time: '2017-07-05T10:02:11+00:00',
        headers: { fedora_messaging_schema: 'bodhi.compose.complete.v1', fedora_messaging_severity: '20', 'sent-at': '2017-07-05T10:02:11+00:00' },
        data: { agent: 'bodhi', ctype: 'rpm', repo: 'f26-updates', success: true },
      },
    },
    {
      title: 'Koji regenerates the f26-atomic repo (new installer templates): rebuild installer and images',
      message: {
        topic: 'org.fedoraproject.prod.buildsys.repo.done',
        id: '2017-2c9a7b3e-41d6-4f0a-8e2b-6d3c9f1a4b02',
        time: '2017-07-05T12:30:40+00:00',
        headers: { fedora_messaging_schema: 'koji_fedoramessaging.repo.DoneV1', 'sent-at': '2017-07-05T12:30:40+00:00' },
        data: { instance: 'primary', repo_id: 773459, tag: 'f26-atomic', tag_id: 3429 },
      },
    },
    {
      title: 'Greenwave: the two-week Atomic Host tests passed for the compose',
      message: {
        topic: 'org.fedoraproject.prod.greenwave.decision.update',
        id: '2017-9e4b2f6a-7c3d-4e8f-a1b5-0d2c6e9f3a03',
        // As Greenwave's service user publishes it: gating facts count only from configured publishers.
        publisher: 'greenwave',
        time: '2017-07-06T08:15:00+00:00',
        headers: { fedora_messaging_schema: 'greenwave.decision.update.v1', 'sent-at': '2017-07-06T08:15:00+00:00' },
        data: {
          decision_context: 'atomic_two_week',
          product_version: 'fedora-26',
          subject_type: 'compose',
          subject_identifier: `${DEMO_GROUP}-${DEMO_VERSION}`,
          subject: [{ 'productmd.compose.id': `${DEMO_GROUP}-${DEMO_VERSION}` }],
          policies_satisfied: true,
          summary: 'All required tests passed',
          applicable_policies: ['atomic_two_week_tests'],
          satisfied_requirements: [{ result_id: 20170706, testcase: 'atomic.host.smoke', type: 'test-result-passed' }],
          unsatisfied_requirements: [],
        },
      },
    },
  ];
}

/**
 * The pre-release story: Pungi's nightly Fedora-27-20170820.n.0 commits each arch in the compose
 * repository (`pungi.compose.ostree`), then finishes (`pungi.compose.status.change`); Greenwave
 * passes the compose. relengd finds each commit in the compose repository, announces the compose
 * under Pungi's id, pulls the commits into the public repository and promotes them.
 */
export function demoPungiSteps(dir: string): DemoStep[] {
  const location = `https://kojipkgs.example.org/compose/branched/${DEMO_PUNGI_COMPOSE}/compose`;
  const ostreeStep = (arch: string, id: string, time: string): DemoStep => ({
    title: `Pungi's nightly ${DEMO_PUNGI_COMPOSE}: the ostree phase commits ${nightlyRef(arch)} in the compose repo`,
    pungiCommit: { repo: demoComposeRepo(dir), ref: nightlyRef(arch), arch, version: '27.20170820.n.0' },
    message: {
      topic: 'org.fedoraproject.prod.pungi.compose.ostree',
      id,
      time,
      headers: { fedora_messaging_schema: 'base.message', 'sent-at': time },
      // commitid: filled in with the commit the stand-in ostree phase made (the real one names Pungi's).
      data: { compose_id: DEMO_PUNGI_COMPOSE, variant: 'Atomic', arch, ref: nightlyRef(arch), commitid: null, location },
    },
  });
  return [
    ostreeStep('x86_64', '2017-4b8e2a6c-1f3d-4c5e-9a7b-0e2d4f6a8c04', '2017-08-20T05:41:12+00:00'),
    ostreeStep('aarch64', '2017-7d1f3b5e-2a4c-4e6f-8b9d-1c3e5a7b9d05', '2017-08-20T05:58:47+00:00'),
    {
      title: `Pungi: compose ${DEMO_PUNGI_COMPOSE} FINISHED`,
      message: {
        topic: 'org.fedoraproject.prod.pungi.compose.status.change',
        id: '2017-9a2c4e6f-3b5d-4f7a-8c1e-2d4f6a8c0e06',
        time: '2017-08-20T07:12:30+00:00',
        headers: { fedora_messaging_schema: 'base.message', 'sent-at': '2017-08-20T07:12:30+00:00' },
        data: { compose_id: DEMO_PUNGI_COMPOSE, status: 'FINISHED', location },
      },
    },
    {
      title: `Greenwave: the nightly's Atomic Host tests passed for compose ${DEMO_PUNGI_COMPOSE}`,
      message: {
        topic: 'org.fedoraproject.prod.greenwave.decision.update',
        id: '2017-2e4a6c8e-5d7f-4a1c-9e3b-3f5a7c9e1a07',
        publisher: 'greenwave',
        time: '2017-08-20T09:30:00+00:00',
        headers: { fedora_messaging_schema: 'greenwave.decision.update.v1', 'sent-at': '2017-08-20T09:30:00+00:00' },
        data: {
          decision_context: 'atomic_nightly',
          product_version: 'fedora-27',
          subject_type: 'compose',
          subject_identifier: DEMO_PUNGI_COMPOSE,
          subject: [{ 'productmd.compose.id': DEMO_PUNGI_COMPOSE }],
          policies_satisfied: true,
          summary: 'All required tests passed',
          applicable_policies: ['atomic_nightly_tests'],
          satisfied_requirements: [{ result_id: 20170820, testcase: 'atomic.host.smoke', type: 'test-result-passed' }],
          unsatisfied_requirements: [],
        },
      },
    },
  ];
}

/** The morning after the Bodhi push, before Greenwave's verdict: the daily rebuild's slot. */
export function demoDailySlot(): DemoSlot {
  return { title: `05:00 UTC next morning: the two-week streams' daily schedule (${DEMO_DAILY_CRON}) comes due`, slot: '2017-07-06T05:00:00.000Z' };
}

/** Both stories and the daily slot, in the order of their dates (the time the daemon's clock reads at each). */
export function demoStory(dir: string): Array<DemoStep | DemoSlot> {
  const steps: Array<DemoStep | DemoSlot> = [...demoSteps(dir), demoDailySlot(), ...demoPungiSteps(dir)];
  return steps.sort((a, b) => Date.parse(storyTime(a)) - Date.parse(storyTime(b)));
}

/** When a step of the story happens: a slot's time, or the recorded message's. */
export function storyTime(step: DemoStep | DemoSlot): string {
  return 'slot' in step ? step.slot : step.message.time!;
}

/** The treefile of one arch, as rpm-ostree reads it (ref, repos, packages). */
export function demoTreefile(arch: string): Record<string, unknown> {
  return {
    ref: `fedora/26/${arch}/updates/atomic-host`,
    repos: ['f26-updates'],
    packages: ['fedora-release-atomichost', 'kernel', 'ostree', 'rpm-ostree', 'docker', 'atomic'],
  };
}

/** The demo's signing: the stand-in signer's throwaway key, as relengd verifies it. */
export interface DemoSigning {
  keyring: string;
  keyId: string;
}

/** The identity the stand-in signer replies as (robosignatory's user_id on Fedora's broker). */
export const DEMO_SIGNER = 'robosignatory';

/**
 * The demo's configuration: two arches of one group, stand-in builders, a Greenwave gate; with
 * `signing`, every commit signed (the two-week streams by request and reply, the nightly ones as
 * robosignatory signs Pungi's announced commits); with
 * `dailyArtifacts`, the two-week streams' daily rebuild (`relengd demo` drives its slot with the
 * story's clock; the tests' pipelines leave it out, their daemons running on the system clock).
 */
export function demoConfigYaml(dir: string, node: string, options: { dailyArtifacts?: boolean; signing?: DemoSigning } = {}): string {
  const sign = (protocol: 'request-reply' | 'robosignatory') =>
    options.signing
      ? `
    sign:
      protocol: ${protocol}
      keyring: ${options.signing.keyring}
      keyIds: [${options.signing.keyId}]
      timeoutMinutes: 60${protocol === 'robosignatory' ? '\n      resendMinutes: 5' : ''}`
      : '';
  const compose = [node, join(standins, 'standin-compose.ts'), '--repo={repo}', '--write-commitid-to={commitIdFile}', '--touch-if-changed={changedStamp}', '--add-metadata-string=version={version}', '{treefile}'];
  const build = (kind: string, out: string) => [node, join(standins, 'standin-build.ts'), '--repo={repo}', '--commit={commit}', `--kind=${kind}`, `--out=${out}`];
  const stream = (arch: string) => `
  - id: f26-atomic-host-${arch}
    group: ${DEMO_GROUP}
    release: "26"
    arch: ${arch}
    triggers:
      updatesRepos: [f26-updates]
      tags: [{ tag: f26-atomic, action: artifacts, on: [repo.done] }]${options.dailyArtifacts ? `
      schedule: [{ cron: "${DEMO_DAILY_CRON}", action: artifacts }]` : ''}
    ostree:
      repo: ${join(dir, 'repo')}
      ref: fedora/26/${arch}/updates/atomic-host
      treefile: ${join(dir, 'compose', `fedora-atomic-host-${arch}.json`)}
      version: "{release}.{date}.{n}"
      composeId: "Fedora-AtomicHost-{release}-{date}.{n}"
      compose: ${JSON.stringify(compose)}
    artifacts:
      - name: installer
        kind: installer
        platform: metal
        format: iso
        failable: true
        output: "{outputDir}/images/boot.iso"
        command: ${JSON.stringify(build('installer', '{outputDir}/images/boot.iso'))}
      - name: qcow2
        kind: image
        platform: qemu
        format: qcow2
        failable: true
        output: "{outputDir}/*.qcow2"
        command: ${JSON.stringify(build('image', '{outputDir}/Fedora-Atomic-{version}.{arch}.qcow2'))}
    promote:
      ref: fedora/26/${arch}/atomic-host
      accept: [FINISHED, FINISHED_INCOMPLETE]
      gates:
        - greenwave: { decisionContext: atomic_two_week }
      fastForwardOnly: true
      deltas: true
      metadata: ${join(dir, 'streams', `${DEMO_GROUP}.json`)}
      baseUrl: https://kojipkgs.example.org/atomic/26/${sign('request-reply')}`;
  // The pre-release path: Pungi commits the nightly ref in its compose repo; relengd gates the
  // compose, pulls the commit into the public repo and moves the release ref there.
  const nightly = (arch: string) => `
  - id: ${DEMO_PUNGI_GROUP}-${arch}
    group: ${DEMO_PUNGI_GROUP}
    release: "27"
    arch: ${arch}
    triggers:
      pungi: { composeId: "Fedora-27-*.n.*", variant: Atomic, repo: ${demoComposeRepo(dir)} }
    ostree:
      repo: ${join(dir, 'repo')}
      ref: ${nightlyRef(arch)}
      # Pungi composes this stream; relengd would only if a Bodhi, Koji or schedule trigger asked.
      treefile: ${join(dir, 'compose', `fedora-atomic-host-${arch}.json`)}
      compose: ${JSON.stringify(compose)}
    promote:
      ref: fedora/27/${arch}/atomic-host
      from: { repo: ${demoComposeRepo(dir)} }
      accept: [FINISHED, FINISHED_INCOMPLETE]
      gates:
        - greenwave: { decisionContext: atomic_nightly, subjectType: compose }
      fastForwardOnly: true
      deltas: true
      metadata: ${join(dir, 'streams', `${DEMO_PUNGI_GROUP}.json`)}${sign('robosignatory')}`;
  return `# Written by \`relengd demo\`: every relengd command works on the demo with --config ${join(dir, 'relengd.yaml')}
topicPrefix: org.fedoraproject.prod
bus: { transport: embedded }
store: { path: ${join(dir, 'relengd.db')} }
http: { host: 127.0.0.1, port: 8089 }
jobs: { concurrency: 2, workdir: ${join(dir, 'jobs')}, timeoutMinutes: 10 }
log: { level: warn }
# Who may send what (README, "Trust model"): gating decisions only from Greenwave's service user;
# the commands approve and promote from the release engineers' \`releng\` identity (an AMQP user_id
# or an HTTP token's name), and from an operator on this machine with \`relengd promote\`.
publishers:
  greenwave.decision.update: [greenwave]
  relengd.release.approve: [releng]
  relengd.release.promote.requested: [releng]${options.signing ? `
  # The signer's replies start the check of a signature (ostree verifies it against sign.keyring).
  coreos.build.request.ostree-sign.finished: [${DEMO_SIGNER}]` : ''}
streams:${DEMO_ARCHES.map(stream).join('')}${DEMO_ARCHES.map(nightly).join('')}
`;
}
