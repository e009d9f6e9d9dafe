/**
 * Generators for the config parser fuzzer: random configurations (known keys with good and bad
 * values, unknown and misspelt keys, colliding ids and refs) with environment overrides, and
 * YAML-ish text made of YAML's own tokens.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';

// ---------------------------------------------------------------------------------------------
// values: mostly right, sometimes of the wrong kind

const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 100_000 }),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', ' ', '26', 'yes', '~', '0x1F', '.inf', '{release}', '../etc', '-rf'),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);

const misspelt = ['topicPrefx', 'strems', 'bus_', 'Store', 'piblishers', 'ostre', 'promotee', 'ref ', 'gpgkey', 'composee', '__proto__', 'constructor', 'toString', 'a.b', '0', 'x y', ''];

/**
 * A random configuration and environment: every section, each key present or not. Leaves come from
 * pools of good values and, with `wrongOneIn`, bad values of the right kind (an invalid ref, a
 * relative path) one time in four; one value in `wrongOneIn` is of the wrong kind and one mapping in
 * `wrongOneIn` has an unknown key. Without `wrongOneIn` every value is good on its own, which leaves
 * the cross-field rules (groups, ref writers, hosts and tokens), the parser's deepest checks.
 */
export function configAndEnv(wrongOneIn: number | undefined): fc.Arbitrary<[unknown, Record<string, string>]> {
  function v<T>(right: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
    return wrongOneIn === undefined ? right : fc.oneof({ weight: wrongOneIn - 1, arbitrary: right }, { weight: 1, arbitrary: wrongValue });
  }
  /** A good value, or (when corrupting) now and then a bad one of the same kind; sometimes of the wrong kind. */
  function pick<T>(good: readonly T[], bad: readonly T[] = []): fc.Arbitrary<unknown> {
    const right = wrongOneIn === undefined || bad.length === 0 ? fc.constantFrom(...good) : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
    return v(right);
  }

  /** One of the good shapes, or one time in five (when corrupting, or always `also` in the mix) a bad one. */
  function shapes(good: fc.Arbitrary<unknown>[], bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
    return fc.oneof(...good.map((arbitrary) => ({ weight: 4, arbitrary })), { weight: 1, arbitrary: bad });
  }

  /** A mapping of `shape`'s keys (each present or not) plus, now and then, an unknown one. */
  function mapping(shape: Record<string, fc.Arbitrary<unknown>>, required: string[] = []): fc.Arbitrary<unknown> {
    const unknownKey = wrongOneIn === undefined ? fc.constant(null) : fc.option(fc.tuple(fc.oneof(fc.constantFrom(...misspelt), fc.string({ maxLength: 8 })), wrongValue), { freq: wrongOneIn });
    return v(
      fc.tuple(fc.record(shape, { requiredKeys: required }), unknownKey).map(([record, extra]) => {
        const out: Record<string, unknown> = { ...record };
        if (extra) Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true, writable: true, configurable: true });
        return out;
      }),
    );
  }

  const list = (item: fc.Arbitrary<unknown>, maxLength = 2, minLength = 0) => v(fc.array(item, { minLength: wrongOneIn === undefined ? minLength : 0, maxLength }));
  const posInt = pick([1, 5, 60, 1000], [0, -1, 1.5, 2 ** 53]);
  const absPath = pick(['/srv/relengd/repo', '/srv/repo/', '/var/lib/relengd/jobs'], ['relative/path', '', '/..', 'C:\\x']);
  const text = wrongOneIn === undefined ? pick(['x', 'relengd', 'atomic.host.smoke']) : v(fc.oneof(fc.constantFrom('x', 'relengd', 'atomic.host.smoke', ''), fc.string({ maxLength: 10 })));
  const ref = pick(['fedora/26/x86_64/atomic-host', 'fedora/26/x86_64/updates/atomic-host', 'fedora/27/aarch64/atomic-host', 'fedora/27/x86_64/testing/atomic-host', 'a'], ['/bad', 'bad/', 'a//b', 'remote:ref', '../x', '.x', 'a b', 'x'.repeat(256)]);
  const argv = list(pick(['rpm-ostree', '--repo={repo}', '{ref}', '{treefile}', '--write-commitid-to={commitIdFile}', '{version}', '{outputDir}', '{arch}', '{"json": 1}'], ['{bogus}', '', '{commit}']), 4, 1);
  const amqpUrl = pick(['amqp://guest:guest@127.0.0.1:5672', 'amqps://broker.example:5671/%2F'], ['http://x', 'not a url', '']);

  const gate = shapes(
    [
      mapping({ greenwave: mapping({ decisionContext: text, subjectType: text }, ['decisionContext']) }, ['greenwave']),
      mapping({ resultsdb: mapping({ testcases: list(text, 2, 1) }, ['testcases']) }, ['resultsdb']),
      mapping({ approval: v(fc.oneof(fc.constant(null), fc.record({ topic: pick(['relengd.release.approve'], ['other.topic']) }, { requiredKeys: [] }))) }, ['approval']),
    ],
    // Two kinds in one gate, or none.
    mapping({ greenwave: mapping({ decisionContext: text }, ['decisionContext']), approval: fc.constant(null) }),
  );

  const stream = mapping(
    {
      id: pick(['f26-ah-x86_64', 'f26-ah-aarch64', 'f27-ah-x86_64'], ['-x', 'F26', 'a b']),
      group: pick(['f26-ah', 'f27-ah'], ['F']),
      release: pick(['26', '27'], ['-1', 'a b', '']),
      arch: pick(['x86_64', 'aarch64', 'ppc64le'], ['X']),
      triggers: mapping({
        updatesRepos: list(text),
        tags: list(v(fc.oneof(pick(['f26-atomic'], ['']), fc.record({ tag: text, action: pick(['compose', 'artifacts'], ['build']), on: list(pick(['tag', 'untag', 'repo.done'], ['x']), 3, 1) }, { requiredKeys: ['tag'] })))),
      }),
      ostree: mapping(
        {
          repo: absPath,
          ref,
          treefile: text,
          version: pick(['{release}.{date}.{n}', '{release}.{n}'], ['{release}.{arch}', '-{n}', '1 0']),
          compose: argv,
        },
        ['repo', 'ref', 'treefile', 'compose'],
      ),
      artifacts: list(
        mapping(
          {
            name: pick(['installer', 'qcow2'], ['-x', '']),
            kind: pick(['installer', 'image'], ['iso']),
            platform: text,
            format: text,
            failable: pick([true, false]),
            output: pick(['{outputDir}/boot.iso', '{outputDir}/*.qcow2'], ['/tmp/x', '{outputDir}/../x', '{outputDir}/{bogus}']),
            command: argv,
          },
          ['name', 'kind', 'platform', 'format', 'output', 'command'],
        ),
        1,
      ),
      promote: mapping(
        {
          ref,
          accept: list(pick(['FINISHED', 'FINISHED_INCOMPLETE'], ['DOOMED']), 2, 1),
          gates: list(gate),
          fastForwardOnly: pick([true, false]),
          summary: mapping({ gpgKey: pick([null, 'ABCDEF'], ['']), gpgHome: absPath }),
          deltas: pick([true, false]),
          metadata: absPath,
          baseUrl: pick(['https://example.org/atomic/'], ['ftp://x', 'x']),
        },
        ['ref'],
      ),
    },
    ['id', 'group', 'release', 'arch', 'ostree'],
  );

  const config = mapping({
    topicPrefix: pick(['org.fedoraproject.prod', '', 'org.centos.stage'], ['.a', 'a..b', 'a b']),
    bus: mapping({
      transport: pick(['embedded', 'amqp', 'kafka'], ['mqtt']),
      amqp: mapping({
        url: amqpUrl,
        tls: shapes([mapping({ ca: text }), mapping({ ca: text, cert: text, key: text }, ['cert', 'key'])], mapping({ key: text })),
        queue: text,
        prefetch: posInt,
        bindings: list(text),
        deadLetter: text,
        deliveryLimit: posInt,
        heartbeatSeconds: pick([0, 30], [-1]),
        stream: text,
        streamMaxAge: pick(['7D', '12h', '30m'], ['7 days', '']),
      }),
      kafka: mapping({
        brokers: list(pick(['localhost:9092', 'kafka.example:9093', '[::1]:9092'], ['localhost', 'a b:1', ':9092']), 2, 1),
        clientId: text,
        groupId: text,
        topics: list(pick(['bodhi.compose.complete', 'org.fedoraproject.prod.buildsys.tag'], ['a b', 'relengd.dead'])),
        fromBeginning: pick([true, false]),
        deadLetter: pick(['relengd.dead'], ['a/b']),
        deliveryLimit: posInt,
        tls: shapes([mapping({ ca: absPath }), mapping({ ca: absPath, cert: absPath, key: absPath }, ['cert', 'key'])], mapping({ cert: absPath })),
        sasl: shapes(
          [
            mapping({ mechanism: pick(['scram-sha-256', 'scram-sha-512', 'plain'], ['gssapi']), username: text, passwordFile: absPath }, ['mechanism', 'username', 'passwordFile']),
            mapping({ mechanism: pick(['scram-sha-256', 'scram-sha-512'], ['gssapi']), username: text, passwordEnv: pick(['KAFKA_PASSWORD'], ['1X']) }, ['mechanism', 'username', 'passwordEnv']),
          ],
          mapping({ mechanism: pick(['plain']), username: text, passwordFile: absPath, passwordEnv: pick(['KAFKA_PASSWORD']) }),
        ),
      }),
    }),
    store: mapping({ path: text }),
    http: mapping({
      host: pick(['127.0.0.1', '::1', 'localhost', '0.0.0.0'], ['example.org', '']),
      port: pick([0, 8080, 65535], [-1, 70_000]),
      maxBodyBytes: posInt,
      auth: mapping({
        tokens: list(
          shapes(
            [
              mapping({ name: pick(['releng', 'greenwave'], ['local:me', 'a b']), file: text }, ['name', 'file']),
              mapping({ name: pick(['releng', 'greenwave'], ['local:me', 'a b']), env: pick(['TOKEN'], ['1X', '']) }, ['name', 'env']),
            ],
            mapping({ name: pick(['releng']), file: text, env: pick(['TOKEN']) }),
          ),
        ),
      }),
      tls: mapping({ cert: text, key: text, ca: text }, ['cert', 'key']),
      maxConnections: posInt,
      headersTimeoutMs: posInt,
      requestTimeoutMs: posInt,
      keepAliveTimeoutMs: posInt,
    }),
    jobs: mapping({ concurrency: posInt, workdir: absPath, timeoutMinutes: posInt }),
    log: mapping({ level: pick(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], ['verbose']) }),
    retention: mapping({ events: posInt, rejected: posInt, jobDirectories: posInt, rejectedRawBytes: posInt, intervalMinutes: posInt }),
    dryRun: pick([true, false]),
    recovery: mapping({ datagrepper: mapping({ url: pick(['https://datagrepper.example'], ['not a url']), topics: list(text), maxAgeHours: posInt }, ['url']) }),
    publishers: v(fc.dictionary(fc.constantFrom('relengd.release.approve', 'greenwave.decision.update', 'org.fedoraproject.prod.greenwave.decision.update'), list(text, 2, 1), { maxKeys: 2 })),
    streams: list(stream, 2),
  });

  const envValue = (good: string[], bad: string[]) => (wrongOneIn === undefined ? fc.constantFrom(...good) : fc.constantFrom(...good, ...bad));
  const env = fc.record(
    {
      AMQP_URL: envValue(['amqp://u:p@h:5672', 'amqps://h', ''], ['http://h', 'x']),
      RELENGD_STORE: envValue(['/tmp/relengd.db', ''], [' ']),
      RELENGD_HTTP_PORT: envValue(['8080', ' 9 ', ''], ['-1', '70000', 'abc', '1e3']),
      RELENGD_TRANSPORT: envValue(['amqp', 'kafka', 'embedded', ''], ['x']),
      RELENGD_LOG_LEVEL: envValue(['debug', ''], ['loud']),
    },
    { requiredKeys: [] },
  );
  // At most four top-level sections (plus streams half the time): parsing costs about 3 ms a KB,
  // and a case per section reaches as deep as a whole file.
  const sections = ['topicPrefix', 'bus', 'store', 'http', 'jobs', 'log', 'retention', 'dryRun', 'recovery', 'publishers'];
  const sparse = fc.tuple(config, fc.shuffledSubarray(sections, { minLength: 0, maxLength: 4 }), fc.boolean()).map(([c, keep, streams]) => {
    if (c === null || typeof c !== 'object' || Array.isArray(c)) return c;
    return Object.fromEntries(Object.entries(c).filter(([key]) => (key === 'streams' ? streams : !sections.includes(key) || keep.includes(key))));
  });
  return fc.tuple(sparse, env);
}

/** Environment overrides for the YAML-ish texts: good and bad. */
export const anyEnv = configAndEnv(8).map(([, env]) => env);

// ---------------------------------------------------------------------------------------------
// YAML-ish text

const yamlToken = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('topicPrefix', 'bus', 'transport', 'amqp', 'streams', 'id', 'ostree', 'ref', 'promote', 'gates', 'approval', 'publishers', 'http', 'port', 'store', 'path', 'unknown', 'x') },
  { weight: 6, arbitrary: fc.constantFrom(': ', ':', '\n', '\n  ', '\n    ', '\n- ', '- ', ' ', '\t', ', ', '{', '}', '[', ']', '"', "'", '#', '&a ', '*a', '<<: *a', '!!str ', '!!binary ', '!!map ', '!custom ', '? ', '|\n  ', '>-\n  ', '---\n', '\n...\n', '%YAML 1.2\n---\n', '~', 'null', 'yes', '0x10', '1e3', '.nan', '-.inf', '"\\u0000"', '\\', '\u00a0', '\ufeff', '\r\n') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
export const yamlishText = fc.oneof(
  { weight: 4, arbitrary: fc.array(yamlToken, { maxLength: 40 }).map((tokens) => tokens.join('')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  // Alias bombs: many aliases of aliases.
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }).map((n) => `a0: &a0 [x, x]\n${Array.from({ length: n }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}, *a${i}, *a${i}, *a${i}]`).join('\n')}\n`) },
);

/** A configuration object as a YAML or JSON document (YAML 1.2 reads JSON), and its environment. */
export const configTextAndEnv = fc.tuple(fc.oneof(configAndEnv(undefined), configAndEnv(100), configAndEnv(20), configAndEnv(6)), fc.constantFrom('yaml', 'yaml-flow', 'json')).map(([[config, env], style]): [string, Record<string, string>] => {
  if (style === 'json') return [JSON.stringify(config) ?? '', env];
  return [stringify(config, { collectionStyle: style === 'yaml-flow' ? 'flow' : 'any' }), env];
});
