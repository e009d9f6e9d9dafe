import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { configProblems, configSummary, parseConfig } from '../../../src/config/index.ts';
import { DESIGN_EXAMPLE } from './design-example.ts';

/** The ConfigError thrown by parsing `text`. */
function errorOf(text: string, env: Record<string, string | undefined> = {}): ConfigError {
  try {
    parseConfig(text, env, 'relengd.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the configuration to be rejected');
}

/** A minimal valid stream, as YAML list item lines; `extra` lines are appended inside the item. */
function stream(fields: { id?: string; group?: string; release?: string; arch?: string; ref?: string; promoteRef?: string; repo?: string } = {}, extra = ''): string {
  const { id = 'f26-x86_64', group = 'f26', release = '"26"', arch = 'x86_64', ref = 'fedora/26/x86_64/updates/atomic-host', repo = '/srv/ostree/26' } = fields;
  return `
  - id: ${id}
    group: ${group}
    release: ${release}
    arch: ${arch}
    ostree:
      repo: ${repo}
      ref: ${ref}
      treefile: fedora-atomic-host.json
      compose: [rpm-ostree, compose, tree, "--repo={repo}", "{treefile}"]
${fields.promoteRef ? `    promote:\n      ref: ${fields.promoteRef}\n` : ''}${extra}`;
}

describe('the DESIGN.md example', () => {
  const config = parseConfig(DESIGN_EXAMPLE, {}, 'DESIGN.md');

  it('parses with the values it sets', () => {
    expect(config.topicPrefix).toBe('org.fedoraproject.prod');
    expect(config.bus.transport).toBe('amqp');
    expect(config.bus.amqp.url).toBe('amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub');
    expect(config.bus.amqp.tls).toEqual({ ca: 'cacert.pem', cert: 'fedora-cert.pem', key: 'fedora-key.pem' });
    expect(config.publishers).toEqual({ 'greenwave.decision.update': ['greenwave'], 'relengd.release.approve': ['releng'] });
    const [s] = config.streams;
    expect(s?.id).toBe('f26-atomic-host-x86_64');
    expect(s?.ostree.compose).toHaveLength(8);
    expect(s?.artifacts.map((a) => a.name)).toEqual(['installer', 'qcow2']);
    expect(s?.promote?.gates).toEqual([
      { greenwave: { decisionContext: 'atomic_two_week' } },
      { resultsdb: { testcases: ['atomic.host.smoke'] } },
      { approval: { topic: 'relengd.release.approve' } },
    ]);
  });

  it('fills in the defaults of keys it leaves out', () => {
    expect(config.bus.amqp.heartbeatSeconds).toBe(30);
    expect(config.http.maxBodyBytes).toBe(1024 * 1024);
    expect(config.log.level).toBe('info');
    expect(config.streams[0]?.promote?.summary).toEqual({ gpgKey: null });
  });

  it('normalizes a bare tag name to the full trigger form', () => {
    expect(config.streams[0]?.triggers).toEqual({
      updatesRepos: ['f26-updates'],
      tags: [{ tag: 'f26-atomic', action: 'compose', on: ['tag', 'untag', 'repo.done'] }],
      schedule: [],
    });
  });
});

describe('defaults', () => {
  it('an empty document gives every default', () => {
    const config = parseConfig('', {});
    expect(config).toEqual({
      topicPrefix: 'org.fedoraproject.prod',
      bus: {
        transport: 'embedded',
        amqp: {
          url: 'amqp://guest:guest@127.0.0.1:5672',
          queue: 'relengd',
          prefetch: 500,
          bindings: [],
          deadLetter: 'relengd.dead',
          deliveryLimit: 5,
          heartbeatSeconds: 30,
          streamMaxAge: '7D',
        },
        kafka: { brokers: ['localhost:9092'], clientId: 'relengd', groupId: 'relengd', topics: [], fromBeginning: false, deadLetter: 'relengd.dead', deliveryLimit: 5 },
      },
      store: { path: '/var/lib/relengd/relengd.db', leaseSeconds: 30 },
      http: { host: '127.0.0.1', port: 8080, maxBodyBytes: 1048576, auth: { tokens: [] }, maxConnections: 256, headersTimeoutMs: 10000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 5000 },
      jobs: { concurrency: 2, workdir: '/var/lib/relengd/jobs', timeoutMinutes: 240 },
      log: { level: 'info' },
      retention: { events: 90, rejected: 30, jobDirectories: 30, rejectedRawBytes: 65536, intervalMinutes: 60 },
      publishers: {},
      dryRun: false,
      recovery: {},
      streams: [],
      watch: [],
    });
  });

  it('a document of only comments is empty too', () => {
    expect(parseConfig('# nothing configured yet\n', {})).toEqual(parseConfig('', {}));
  });

  it('topicPrefix may be empty for no prefix', () => {
    expect(parseConfig('topicPrefix: ""', {}).topicPrefix).toBe('');
  });

  it('a minimal stream gets its defaults', () => {
    const [s] = parseConfig(`streams:${stream()}`, {}).streams;
    expect(s?.triggers).toEqual({ updatesRepos: [], tags: [], schedule: [] });
    expect(s?.ostree.version).toBe('{release}.{date}.{n}');
    expect(s?.artifacts).toEqual([]);
    expect(s?.promote).toBeUndefined();
  });

  it('a promote block gets its defaults', () => {
    const [s] = parseConfig(`streams:${stream({ promoteRef: 'fedora/26/x86_64/atomic-host' })}`, {}).streams;
    expect(s?.promote).toEqual({
      ref: 'fedora/26/x86_64/atomic-host',
      accept: ['FINISHED'],
      gates: [],
      fastForwardOnly: true,
      summary: { gpgKey: null },
      deltas: false,
    });
  });

  it('an approval gate without a value approves on the default topic', () => {
    const text = `streams:${stream({ promoteRef: 'fedora/26/x86_64/atomic-host' })}      gates:\n        - approval:\n`;
    expect(parseConfig(text, {}).streams[0]?.promote?.gates).toEqual([{ approval: { topic: 'relengd.release.approve' } }]);
  });

  it('retention keeps what it sets and defaults the rest', () => {
    const config = parseConfig('retention: { events: 365, rejectedRawBytes: 4096 }\n', {});
    expect(config.retention).toEqual({ events: 365, rejected: 30, jobDirectories: 30, rejectedRawBytes: 4096, intervalMinutes: 60 });
  });

  it('a tag trigger in object form keeps its action and events', () => {
    const text = `streams:${stream()}    triggers:\n      tags: [{ tag: f26-atomic-installer, action: artifacts, on: [repo.done] }]\n`;
    expect(parseConfig(text, {}).streams[0]?.triggers.tags).toEqual([{ tag: 'f26-atomic-installer', action: 'artifacts', on: ['repo.done'] }]);
  });
});

describe('errors name the key path', () => {
  it('a bad promote ref is reported at streams[0].promote.ref with the reason', () => {
    const error = errorOf(`streams:${stream({ promoteRef: 'remote:fedora/26' })}`);
    expect(error.keyPath).toBe('streams[0].promote.ref');
    expect(error.message).toMatch(/not a valid OSTree ref: .*remote/);
  });

  it('an unknown transport names bus.transport and the choices', () => {
    const error = errorOf('bus:\n  transport: carrier-pigeon\n');
    expect(error.keyPath).toBe('bus.transport');
    expect(error.message).toContain('embedded | amqp | kafka');
    expect(error.message).toContain('"carrier-pigeon"');
  });

  it('a misspelt key is reported at the path of the key itself, with the key it was meant to be', () => {
    const error = errorOf(`streams:${stream()}`.replace('ref: fedora', 'reff: fedora'));
    expect(error.keyPath).toBe('streams[0].ostree.reff');
    expect(error.message).toContain('unknown key "reff" (did you mean "ref"?)');
  });

  it('an unknown top-level key is an error, not ignored', () => {
    const error = errorOf('stores: { path: /tmp/x.db }\n');
    expect(error.keyPath).toBe('stores');
    expect(error.message).toContain('unknown key "stores"');
  });

  it('a string where a number belongs names jobs.concurrency', () => {
    const error = errorOf('jobs:\n  concurrency: "two"\n');
    expect(error.keyPath).toBe('jobs.concurrency');
    expect(error.message).toContain('expected number, received string "two"');
  });

  it('a retention of zero days is refused at its key (it would prune what just arrived)', () => {
    const error = errorOf('retention:\n  events: 0\n');
    expect(error.keyPath).toBe('retention.events');
  });

  it('a datagrepper catch-up reaching past the event retention is refused: it would take pruned messages for new ones', () => {
    const error = errorOf('retention: { events: 7 }\nrecovery:\n  datagrepper: { url: "https://apps.fedoraproject.org/datagrepper", maxAgeHours: 200 }\n');
    expect(error.keyPath).toBe('recovery.datagrepper.maxAgeHours');
    expect(error.message).toContain('retention.events (7 days)');
    expect(parseConfig('retention: { events: 7 }\nrecovery:\n  datagrepper: { url: "https://apps.fedoraproject.org/datagrepper", maxAgeHours: 168 }\n', {}).recovery.datagrepper?.maxAgeHours).toBe(168);
  });

  it('a duplicate stream id is reported on the second stream', () => {
    const text = `streams:${stream({ id: 'x', arch: 'x86_64' })}${stream({ id: 'x', arch: 'aarch64', ref: 'fedora/26/aarch64/updates/atomic-host' })}`;
    const error = errorOf(text);
    expect(error.keyPath).toBe('streams[1].id');
    expect(error.message).toContain('duplicate stream id "x"');
  });

  it('an unknown placeholder in a compose argv names the element', () => {
    const text = `streams:${stream()}`.replace('"{treefile}"]', '"{treefile}", "{tmpdir}"]').replace('compose: [rpm-ostree, compose, tree, "--repo={repo}", ', 'compose: [rpm-ostree, compose, tree, ');
    const error = errorOf(text);
    expect(error.keyPath).toBe('streams[0].ostree.compose[4]');
    const shifted = errorOf(`streams:${stream()}`.replace('"--repo={repo}"', '"--repo={repository}"'));
    expect(shifted.keyPath).toBe('streams[0].ostree.compose[3]');
    expect(shifted.message).toContain('unknown placeholder {repository}');
  });

  it('a command given as one string is rejected: commands never go through a shell', () => {
    const error = errorOf(`streams:${stream()}`.replace(/compose: \[.*\]/, 'compose: "rpm-ostree compose tree {treefile}"'));
    expect(error.keyPath).toBe('streams[0].ostree.compose');
    expect(error.message).toContain('argv');
  });

  it('a YAML syntax error reports its line and column with an empty key path', () => {
    const error = errorOf('http:\n  port: 8080\nstreams: [a, b\nlog: { level: info }\n');
    expect(error.keyPath).toBe('');
    expect(error.message).toMatch(/relengd\.yaml: YAML syntax error at line \d+, column \d+/);
    expect(error.message).toContain('line 4');
  });

  it('a key given twice is a YAML error', () => {
    const error = errorOf('http: { port: 1 }\nhttp: { port: 2 }\n');
    expect(error.keyPath).toBe('');
    expect(error.message).toContain('line 2');
  });

  it('a schema error says where it is in the file', () => {
    const error = errorOf('log:\n  level: info\njobs:\n  timeoutMinutes: -1\n');
    expect(error.keyPath).toBe('jobs.timeoutMinutes');
    expect(error.message).toContain('relengd.yaml:4:3');
  });

  it('a document that is not a mapping is rejected', () => {
    expect(errorOf('- a\n- b\n').message).toContain('must be a mapping');
  });

  it('an unquoted release number is rejected with a hint to quote it', () => {
    const error = errorOf(`streams:${stream({ release: '26' })}`);
    expect(error.keyPath).toBe('streams[0].release');
    expect(error.message).toContain('quote it');
  });

  it('a missing required key is reported as required', () => {
    const error = errorOf(`streams:${stream()}`.replace(/ {6}treefile: .*\n/, ''));
    expect(error.keyPath).toBe('streams[0].ostree.treefile');
    expect(error.message).toContain('required');
  });

  it('lists every problem, not just the first, for config check', () => {
    const problems = configProblems('http: { port: 70000 }\nlog: { level: loud }\n', {});
    expect(problems.map((p) => p.keyPath)).toEqual(['http.port', 'log.level']);
  });
});

describe('streams that cannot work together are rejected', () => {
  const x86 = { id: 'f26-x86_64', arch: 'x86_64', ref: 'fedora/26/x86_64/updates/atomic-host' };
  const arm = { id: 'f26-aarch64', arch: 'aarch64', ref: 'fedora/26/aarch64/updates/atomic-host' };

  it('two arches of one group parse', () => {
    expect(parseConfig(`streams:${stream(x86)}${stream(arm)}`, {}).streams.map((s) => s.arch)).toEqual(['x86_64', 'aarch64']);
  });

  it('two streams of a group with the same arch', () => {
    const error = errorOf(`streams:${stream(x86)}${stream({ ...arm, arch: 'x86_64' })}`);
    expect(error.keyPath).toBe('streams[1].arch');
    expect(error.message).toContain('already has arch "x86_64"');
  });

  it('streams of a group with different releases', () => {
    const error = errorOf(`streams:${stream(x86)}${stream({ ...arm, release: '"27"' })}`);
    expect(error.keyPath).toBe('streams[1].release');
  });

  it('promote on some streams of a group but not all', () => {
    const error = errorOf(`streams:${stream({ ...x86, promoteRef: 'fedora/26/x86_64/atomic-host' })}${stream(arm)}`);
    expect(error.keyPath).toBe('streams[1].promote');
  });

  it('streams of a group with different gates', () => {
    const gates = '      gates: [{ approval: {} }]\n';
    const error = errorOf(`streams:${stream({ ...x86, promoteRef: 'fedora/26/x86_64/atomic-host' }, gates)}${stream({ ...arm, promoteRef: 'fedora/26/aarch64/atomic-host' })}`);
    expect(error.keyPath).toBe('streams[1].promote.gates');
  });

  it('a promote ref equal to the compose ref', () => {
    const error = errorOf(`streams:${stream({ ...x86, promoteRef: x86.ref })}`);
    expect(error.keyPath).toBe('streams[0].promote.ref');
    expect(error.message).toContain('must differ from ostree.ref');
  });

  it('two streams writing the same ref of the same repo', () => {
    const error = errorOf(`streams:${stream(x86)}${stream({ ...x86, id: 'f26-other', group: 'other' })}`);
    expect(error.keyPath).toBe('streams[1].ostree.ref');
    expect(error.message).toContain('already written by streams[0].ostree.ref');
  });

  it('a gate naming two kinds in one item', () => {
    const gates = '      gates:\n        - { greenwave: { decisionContext: ctx }, approval: {} }\n';
    const error = errorOf(`streams:${stream({ promoteRef: 'fedora/26/x86_64/atomic-host' }, gates)}`);
    expect(error.keyPath).toBe('streams[0].promote.gates[0]');
    expect(error.message).toContain('exactly one of greenwave, resultsdb, approval');
  });

  it('an artifact output outside {outputDir}', () => {
    const artifacts = '    artifacts:\n      - { name: iso, kind: installer, platform: metal, format: iso, output: "/tmp/boot.iso", command: [lorax] }\n';
    const error = errorOf(`streams:${stream({}, artifacts)}`);
    expect(error.keyPath).toBe('streams[0].artifacts[0].output');
    expect(error.message).toContain('{outputDir}/');
  });

  it('an artifact output escaping {outputDir} with ..', () => {
    const artifacts = '    artifacts:\n      - { name: iso, kind: installer, platform: metal, format: iso, output: "{outputDir}/../x.iso", command: [lorax] }\n';
    expect(errorOf(`streams:${stream({}, artifacts)}`).keyPath).toBe('streams[0].artifacts[0].output');
  });

  it('an artifact command may use {commit}, a compose command may not', () => {
    const artifacts = '    artifacts:\n      - { name: iso, kind: installer, platform: metal, format: iso, output: "{outputDir}/boot.iso", command: [lorax, "--source={commit}", "{name}"] }\n';
    expect(parseConfig(`streams:${stream({}, artifacts)}`, {}).streams[0]?.artifacts[0]?.command).toEqual(['lorax', '--source={commit}', '{name}']);
    expect(errorOf(`streams:${stream()}`.replace('"{treefile}"]', '"{treefile}", "{commit}"]')).keyPath).toBe('streams[0].ostree.compose[5]');
  });
});

describe('other cross-checks', () => {
  it('publishers are keyed by bare topics', () => {
    const error = errorOf('publishers:\n  org.fedoraproject.prod.relengd.release.approve: [releng]\n');
    expect(error.keyPath).toBe('publishers["org.fedoraproject.prod.relengd.release.approve"]');
    expect(error.message).toContain('use the bare topic "relengd.release.approve"');
  });

  it('an empty publisher list is rejected rather than trusting no one', () => {
    expect(errorOf('publishers:\n  relengd.release.approve: []\n').keyPath).toBe('publishers["relengd.release.approve"]');
  });

  it('TLS files with a plain amqp:// url are rejected', () => {
    const error = errorOf('bus:\n  amqp:\n    url: amqp://localhost\n    tls: { ca: ca.pem }\n');
    expect(error.keyPath).toBe('bus.amqp.tls');
  });

  it('an empty TLS path is rejected', () => {
    expect(errorOf('bus:\n  amqp:\n    url: amqps://localhost\n    tls: { ca: "" }\n').keyPath).toBe('bus.amqp.tls.ca');
  });

  it('a topicPrefix with a trailing dot is rejected', () => {
    expect(errorOf('topicPrefix: org.fedoraproject.prod.\n').keyPath).toBe('topicPrefix');
  });
});

describe('environment overrides', () => {
  it('AMQP_URL replaces bus.amqp.url', () => {
    const config = parseConfig(DESIGN_EXAMPLE, { AMQP_URL: 'amqps://relengd@broker.example.org/%2F' });
    expect(config.bus.amqp.url).toBe('amqps://relengd@broker.example.org/%2F');
    expect(config.bus.amqp.queue).toBe('relengd');
  });

  it('RELENGD_HTTP_PORT "0" gives port 0 (any free port)', () => {
    expect(parseConfig('http: { port: 9000 }', { RELENGD_HTTP_PORT: '0' }).http.port).toBe(0);
  });

  it('RELENGD_STORE, RELENGD_TRANSPORT and RELENGD_LOG_LEVEL apply to an empty file', () => {
    const config = parseConfig('', { RELENGD_STORE: '/tmp/r.db', RELENGD_TRANSPORT: 'kafka', RELENGD_LOG_LEVEL: 'debug' });
    expect(config.store.path).toBe('/tmp/r.db');
    expect(config.bus.transport).toBe('kafka');
    expect(config.log.level).toBe('debug');
  });

  it('RELENGD_STORE_URL selects a PostgreSQL store, and the summary names it', () => {
    const config = parseConfig('', { RELENGD_STORE_URL: 'postgres://relengd@db.example.org:5432/relengd' });
    expect(config.store.url).toBe('postgres://relengd@db.example.org:5432/relengd');
    expect(config.store.leaseSeconds).toBe(30);
    expect(configSummary(config).store).toBe('postgres://relengd@db.example.org:5432/relengd');
  });

  it('an empty variable counts as unset', () => {
    expect(parseConfig('http: { port: 9000 }', { RELENGD_HTTP_PORT: '' }).http.port).toBe(9000);
  });

  it('an invalid override is reported with the key path it targets and the variable', () => {
    const port = errorOf('', { RELENGD_HTTP_PORT: 'eighty' });
    expect(port.keyPath).toBe('http.port');
    expect(port.message).toContain('RELENGD_HTTP_PORT');
    const url = errorOf('', { AMQP_URL: 'https://broker' });
    expect(url.keyPath).toBe('bus.amqp.url');
    expect(url.message).toContain('AMQP_URL');
  });

  it('unrelated environment variables are ignored', () => {
    expect(parseConfig('', { PATH: '/usr/bin', HOME: '/root' })).toEqual(parseConfig('', {}));
  });
});

describe('store', () => {
  it('refuses a password in store.url: it has its own keys, never the password itself', () => {
    const error = errorOf('store: { url: "postgres://relengd:hunter2@db/relengd" }');
    expect(error.keyPath).toBe('store.url');
    expect(error.message).toMatch(/passwordFile or store.passwordEnv/);
    expect(error.message).not.toMatch(/hunter2/);
  });

  it('refuses a URL that is not PostgreSQL or names no database', () => {
    expect(errorOf('store: { url: "mysql://db/relengd" }').message).toMatch(/postgres:\/\//);
    expect(errorOf('store: { url: "postgres://db" }').message).toMatch(/names no database/);
    expect(errorOf('store: { url: "not a url" }').keyPath).toBe('store.url');
  });

  it('refuses PostgreSQL-only keys without store.url, and both password sources at once', () => {
    expect(errorOf('store: { passwordEnv: PGPASS }').message).toMatch(/set store.url too/);
    expect(errorOf('store: { replicaId: a }').keyPath).toBe('store.replicaId');
    expect(errorOf('store: { url: "postgres://u@db/r", passwordEnv: P, passwordFile: /run/secrets/pg }').message).toMatch(/at most one/);
  });

  it('bounds the lease: a replica must heartbeat well within it', () => {
    expect(errorOf('store: { url: "postgres://u@db/r", leaseSeconds: 1 }').keyPath).toBe('store.leaseSeconds');
    expect(parseConfig('store: { url: "postgres://u@db/r", leaseSeconds: 10, replicaId: relengd-a }', {}).store).toMatchObject({ leaseSeconds: 10, replicaId: 'relengd-a' });
  });
});

describe('configSummary', () => {
  it('gives transport, store, http and the streams', () => {
    expect(configSummary(parseConfig(DESIGN_EXAMPLE, { RELENGD_STORE: '/tmp/r.db' }))).toEqual({
      transport: 'amqp',
      topicPrefix: 'org.fedoraproject.prod',
      store: '/tmp/r.db',
      http: { host: '127.0.0.1', port: 8080 },
      streams: ['f26-atomic-host-x86_64'],
      groups: ['f26-atomic-host'],
    });
  });
});
