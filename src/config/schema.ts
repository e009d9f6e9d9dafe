/**
 * The configuration file, as a zod schema: this is its reference documentation.
 *
 * Key names are the contract of DESIGN.md "Interface". Every object is strict: an unknown key (a
 * typo) is an error naming its key path, never silently ignored. Each key documents its default;
 * the parsed output ({@link Config}) has every default applied and bare tag triggers normalized to
 * their object form.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { cronProblem, isTimeZone } from './cron.ts';
import { IMAGE_LIST_TAG_PLACEHOLDERS, IMAGE_TAG, IMAGE_TAG_PLACEHOLDERS, isRepository, registryHost, repositoryProblem } from './image-reference.ts';
import { OstreeRef } from './ostree-ref.ts';
import { ARTIFACT_PLACEHOLDERS, COMPOSE_PLACEHOLDERS, VERSION_PLACEHOLDERS, expandTemplate, unknownPlaceholder } from './template.ts';
import { isLoopbackHost, PUBLISHER_NAME, SAFE_VALUE, SAFE_VALUE_HINT } from '../trust.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** A string; a YAML number or boolean where a string belongs gets a hint to quote it (`release: "26"`). */
function str() {
  return z.string({
    error: (iss) =>
      iss.code === 'invalid_type' && (typeof iss.input === 'number' || typeof iss.input === 'boolean')
        ? `expected a string, received ${typeof iss.input} ${String(iss.input)} (quote it in YAML: "${String(iss.input)}")`
        : undefined,
  });
}

/** A non-empty string. */
function text() {
  return str().min(1, 'must not be empty');
}

/** An absolute file-system path. */
function absolutePath() {
  return text().refine((p) => posix.isAbsolute(p), 'must be an absolute path');
}

const positiveInt = () => z.int().min(1);

/** Identifiers that end up in event subjects, job ids and file names. */
const ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const ID_HINT = 'lower-case letters, digits, ".", "_", "-"; starting with a letter or digit';

function identifier() {
  return text().regex(ID_PATTERN, `must match [a-z0-9][a-z0-9._-]* (${ID_HINT})`);
}

function placeholderList(allowed: readonly string[]): string {
  return allowed.map((name) => `{${name}}`).join(', ');
}

/** A template string whose `{placeholders}` must all be in `allowed`. */
function template(allowed: readonly string[]) {
  return str().superRefine((value, ctx) => {
    const bad = unknownPlaceholder(value, allowed);
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `unknown placeholder {${bad}} (allowed: ${placeholderList(allowed)})`, input: value });
    }
  });
}

/**
 * A command as an argv array (never a shell string): the program, then its arguments.
 * Each element may use the `allowed` placeholders; an unknown one is reported at its element
 * (`streams[0].ostree.compose[3]`).
 */
function argv(allowed: readonly string[]) {
  return z
    .array(str(), {
      error: (iss) =>
        iss.code === 'invalid_type' && typeof iss.input === 'string'
          ? 'expected an argv array (["program", "arg", ...]), received a string; commands never go through a shell'
          : undefined,
    })
    .min(1, 'must not be empty: give the program and its arguments')
    .superRefine((args, ctx) => {
      if (args[0] === '') ctx.addIssue({ code: 'custom', message: 'the program (first element) must not be empty', path: [0], input: args[0] });
      for (const [i, arg] of args.entries()) {
        const bad = unknownPlaceholder(arg, allowed);
        if (bad !== undefined) {
          ctx.addIssue({ code: 'custom', message: `unknown placeholder {${bad}} (allowed: ${placeholderList(allowed)})`, path: [i], input: arg });
        }
      }
    });
}

// ---------------------------------------------------------------------------------------------
// bus

const TOPIC_PREFIX = /^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)?$/;

const AmqpTlsSchema = z
  .strictObject({
    /** CA bundle (PEM) that signed the broker's certificate. Default: the system's CAs. */
    ca: text().optional(),
    /** Client certificate (PEM); requires `key`. Fedora's broker needs one. */
    cert: text().optional(),
    /** Client private key (PEM); requires `cert`. */
    key: text().optional(),
  })
  .superRefine((tls, ctx) => {
    if (tls.cert !== undefined && tls.key === undefined) ctx.addIssue({ code: 'custom', message: 'a client certificate needs its key: set tls.key too', path: ['key'] });
    if (tls.key !== undefined && tls.cert === undefined) ctx.addIssue({ code: 'custom', message: 'a client key needs its certificate: set tls.cert too', path: ['cert'] });
  });

const AmqpSchema = z.strictObject({
  /** Broker URL, `amqp://` or `amqps://` (TLS). Default `amqp://guest:guest@127.0.0.1:5672`. Env: `AMQP_URL`. */
  url: z
    .url({ protocol: /^amqps?$/, error: 'expected an amqp:// or amqps:// URL' })
    .default('amqp://guest:guest@127.0.0.1:5672'),
  /**
   * TLS files (PEM paths) for an `amqps://` url. Relative paths are resolved against the config
   * file's directory by `loadConfigFile`. Optional; when present the url must be `amqps://`.
   */
  tls: AmqpTlsSchema.optional(),
  /** Durable quorum queue consumed. Default `relengd`. */
  queue: text().default('relengd'),
  /**
   * Unacked deliveries in flight (AMQP prefetch). Default 500: deliveries that arrive together are
   * stored in one transaction and acked together, so a larger window means fewer, larger commits
   * (measured: 0.60 of a raw consumer's rate at 50, 0.76 at 500).
   */
  prefetch: positiveInt().default(500),
  /** Extra binding keys on `amq.topic`; the streams' own topics are bound automatically. Default `[]`. */
  bindings: z.array(text()).default(() => []),
  /** Queue receiving rejected messages, with the reason. Default `relengd.dead`. */
  deadLetter: text().default('relengd.dead'),
  /** Deliveries of one message before it is dead-lettered as poison (quorum `x-delivery-limit`). Default 5. */
  deliveryLimit: positiveInt().default(5),
  /** AMQP heartbeat in seconds; 0 disables it. Default 30. */
  heartbeatSeconds: z.int().min(0).default(30),
  /**
   * Name of a RabbitMQ stream that relengd declares, bound with the queue's keys: a history of the
   * bus that `relengd replay --from-stream --since T` reads back by time. Optional.
   */
  stream: text().optional(),
  /** How long the stream keeps messages (RabbitMQ `x-max-age`: 7D, 12h, ...). Default `7D`. */
  streamMaxAge: str().regex(/^\d+(Y|M|D|h|m|s)$/, 'expected a RabbitMQ max-age such as 7D, 12h or 30m').default('7D'),
});

/** Kafka topic names: letters, digits, `.`, `_`, `-`, at most 249 characters (Kafka's own rule). */
function kafkaTopic() {
  return text().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name: letters, digits, ".", "_", "-", at most 249 characters');
}

const KafkaTlsSchema = z
  .strictObject({
    /** CA bundle (PEM, absolute path) that signed the brokers' certificates. Default: the system's CAs. */
    ca: absolutePath().optional(),
    /** Client certificate (PEM, absolute path) for mutual TLS; requires `key`. */
    cert: absolutePath().optional(),
    /** Client private key (PEM, absolute path); requires `cert`. */
    key: absolutePath().optional(),
  })
  .superRefine((tls, ctx) => {
    if (tls.cert !== undefined && tls.key === undefined) ctx.addIssue({ code: 'custom', message: 'a client certificate needs its key: set tls.key too', path: ['key'] });
    if (tls.key !== undefined && tls.cert === undefined) ctx.addIssue({ code: 'custom', message: 'a client key needs its certificate: set tls.cert too', path: ['cert'] });
  });

/**
 * SASL authentication of relengd's own connection. The password is never written in the
 * configuration: `passwordFile` (a trailing newline is dropped) or `passwordEnv` names where it is,
 * read when the daemon starts (missing or empty: a configuration error naming the key).
 */
const KafkaSaslSchema = z
  .strictObject({
    /** `plain` | `scram-sha-256` | `scram-sha-512`. */
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    /** The SASL user relengd connects as. */
    username: text(),
    /** File holding the password (absolute path). */
    passwordFile: absolutePath().optional(),
    /** Environment variable holding the password. */
    passwordEnv: str().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)').optional(),
  })
  .superRefine((sasl, ctx) => {
    if ((sasl.passwordFile === undefined) === (sasl.passwordEnv === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of passwordFile or passwordEnv: where the password is (never the password itself)', input: sasl });
    }
  });

const KafkaSchema = z
  .strictObject({
    /** Bootstrap brokers, `host:port`. Default `[localhost:9092]`. */
    brokers: z.array(text().regex(/^(?:\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):\d{1,5}$/, 'expected host:port ([v6-address]:port for IPv6)')).min(1, 'give at least one broker').default(() => ['localhost:9092']),
    /** Client id the brokers see (logs, quotas, ACL audit). Default `relengd`. */
    clientId: text().default('relengd'),
    /**
     * Consumer group. Replicas sharing a group share the partitions; offsets are committed per group
     * after the store committed what they cover. Default `relengd`.
     */
    groupId: text().default('relengd'),
    /**
     * Extra Kafka topics consumed. The listeners' topics are subscribed automatically, each with the
     * deployment prefix and without it (`org.fedoraproject.prod.bodhi.compose.complete` and
     * `bodhi.compose.complete`), except relengd's own events and commands nobody may send (as on
     * AMQP). Topics that do not exist on the cluster when relengd starts are logged and left out
     * until the next start. Default `[]`.
     */
    topics: z.array(kafkaTopic()).default(() => []),
    /**
     * Where a consumer group that has no committed offsets yet starts: false (the default) at the
     * end of each partition, so a new deployment does not act on the topics' whole retained history;
     * true at the beginning. A group that committed before resumes where it stopped either way.
     */
    fromBeginning: z.boolean().default(false),
    /** Topic receiving rejected records (the original record plus an `x-relengd-error` header). Default `relengd.dead`. */
    deadLetter: kafkaTopic().default('relengd.dead'),
    /**
     * Attempts at storing one record before it is dead-lettered as poison. Counted by this process
     * (Kafka keeps no delivery count): a restart or a rebalance starts the count again. Default 5.
     */
    deliveryLimit: positiveInt().default(5),
    /** TLS to the brokers; `tls: {}` uses the system's CAs. Optional: plaintext without it. */
    tls: KafkaTlsSchema.optional(),
    /** SASL authentication. Optional; `plain` requires `tls` (it sends the password as is). */
    sasl: KafkaSaslSchema.optional(),
  })
  .superRefine((kafka, ctx) => {
    if (kafka.sasl?.mechanism === 'plain' && kafka.tls === undefined) {
      ctx.addIssue({ code: 'custom', message: 'SASL PLAIN sends the password in the clear: set bus.kafka.tls too', path: ['sasl', 'mechanism'] });
    }
    if (kafka.topics.includes(kafka.deadLetter)) {
      ctx.addIssue({ code: 'custom', message: 'the dead-letter topic must not be one of the consumed topics', path: ['deadLetter'] });
    }
  });

const BusSchema = z.strictObject({
  /** `embedded` (in-process + HTTP ingest) | `amqp` (RabbitMQ / Fedora Messaging) | `kafka`. Default `embedded`. Env: `RELENGD_TRANSPORT`. */
  transport: z.enum(['embedded', 'amqp', 'kafka']).default('embedded'),
  /** Used when `transport: amqp`. All keys have defaults. */
  amqp: AmqpSchema.prefault({}),
  /** Used when `transport: kafka`. All keys have defaults. */
  kafka: KafkaSchema.prefault({}),
});

// ---------------------------------------------------------------------------------------------
// store, http, jobs, retention, log

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A PostgreSQL connection URL naming its database, without a password (that has its own keys). */
function postgresUrl() {
  return text().superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a URL (expected postgres://user@host:5432/database)' });
      return;
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') ctx.addIssue({ code: 'custom', message: `expected a postgres:// or postgresql:// URL, got ${url.protocol}//` });
    else if (url.pathname.length <= 1) ctx.addIssue({ code: 'custom', message: 'the URL names no database (postgres://user@host:5432/<database>)' });
    else if (url.password !== '') ctx.addIssue({ code: 'custom', message: 'the URL holds a password: give store.passwordFile or store.passwordEnv instead (never the password itself)' });
  });
}

const StoreSchema = z
  .strictObject({
    /** SQLite database file: one machine. Default `/var/lib/relengd/relengd.db`. Env: `RELENGD_STORE`. */
    path: text().default('/var/lib/relengd/relengd.db'),
    /**
     * PostgreSQL instead of SQLite, shared by several relengd replicas: `postgres://user@host:5432/db`.
     * When set, `path` is not used. Env: `RELENGD_STORE_URL`.
     */
    url: postgresUrl().optional(),
    /** File holding the PostgreSQL password (absolute path; a trailing newline is dropped). Only with `url`. */
    passwordFile: absolutePath().optional(),
    /** Environment variable holding the PostgreSQL password. Only with `url`. Without either, libpq's PGPASSWORD and ~/.pgpass apply. */
    passwordEnv: str().regex(ENV_NAME, 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)').optional(),
    /**
     * PostgreSQL only: how long a replica's claim on a job or outbox row lasts without a heartbeat
     * (renewed every third of it). A replica that dies loses its jobs to another after at most this.
     * Default 30.
     */
    leaseSeconds: z.int().min(3).max(3600).default(30),
    /** PostgreSQL only: this replica's name in `status` and `/metrics`. Default `<host>-<pid>`. */
    replicaId: text().regex(PUBLISHER_NAME, 'must match [A-Za-z0-9][A-Za-z0-9._@-]*').optional(),
  })
  .superRefine((store, ctx) => {
    if (store.passwordFile !== undefined && store.passwordEnv !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give at most one of passwordFile or passwordEnv', path: ['passwordEnv'] });
    }
    if (store.url === undefined) {
      for (const key of ['passwordFile', 'passwordEnv', 'replicaId'] as const) {
        if (store[key] !== undefined) ctx.addIssue({ code: 'custom', message: `store.${key} applies to a PostgreSQL store only: set store.url too`, path: [key] });
      }
    }
  });

/**
 * Where one HTTP publisher's bearer token is read when the daemon starts: `{name, file}` or
 * `{name, env}`. The token itself is never written in the configuration (there is no key for it).
 */
const HttpTokenSchema = z
  .strictObject({
    /** The publisher the token authenticates, as `publishers` lists it (`releng`): the same names as AMQP user_ids. */
    name: text().regex(PUBLISHER_NAME, 'must match [A-Za-z0-9][A-Za-z0-9._@-]* (no ":": local:<user> is an operator on this host)'),
    /** File holding the token (a trailing newline is dropped). Relative paths are resolved against the config file's directory. */
    file: text().optional(),
    /** Environment variable holding the token. */
    env: str().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)').optional(),
  })
  .superRefine((entry, ctx) => {
    if ((entry.file === undefined) === (entry.env === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of file or env: where the token is (never the token itself)', input: entry });
    }
  });

const HttpTlsSchema = z.strictObject({
  /** The server's certificate chain (PEM file). Relative paths are resolved against the config file's directory. */
  cert: text(),
  /** Its private key (PEM file). */
  key: text(),
  /**
   * CA bundle (PEM file) that signs client certificates. When set, clients may present one: a
   * certificate it verifies authenticates its subject CN as the publisher (as a token's name does);
   * one it does not verify is answered 401. Optional.
   */
  ca: text().optional(),
});

const HttpSchema = z
  .strictObject({
    /**
     * Listen address. Default `127.0.0.1`. Anything but loopback (127.0.0.0/8, ::1, localhost)
     * requires `auth.tokens` (or `tls.ca`): no listener others can reach without a way to know who calls.
     */
    host: text().default('127.0.0.1'),
    /** Listen port; 0 = any free port. Default 8080. Env: `RELENGD_HTTP_PORT`. */
    port: z.int().min(0).max(65535).default(8080),
    /** Largest accepted request body (CloudEvents ingest), in bytes; a larger one is cut off with 413. Default 1 MiB. */
    maxBodyBytes: positiveInt().default(1024 * 1024),
    auth: z
      .strictObject({
        /**
         * Bearer tokens (`Authorization: Bearer <token>`) and the publisher each authenticates;
         * read at start (at least 16 characters). Default `[]`: every request is anonymous.
         */
        tokens: z.array(HttpTokenSchema).default(() => []),
      })
      .prefault({}),
    /** Serve HTTPS with these files instead of HTTP. Optional. */
    tls: HttpTlsSchema.optional(),
    /** Connections served at once; further ones are closed when accepted. Default 256. */
    maxConnections: positiveInt().default(256),
    /** A client that has not sent its request headers by then is disconnected (408). Default 10000. */
    headersTimeoutMs: positiveInt().default(10_000),
    /** A request (headers and body) not received by then is answered 408. Default 30000. */
    requestTimeoutMs: positiveInt().default(30_000),
    /** An idle kept-alive connection is closed after this. Default 5000. */
    keepAliveTimeoutMs: positiveInt().default(5_000),
  })
  .superRefine((http, ctx) => {
    if (!isLoopbackHost(http.host) && http.auth.tokens.length === 0 && http.tls?.ca === undefined) {
      ctx.addIssue({ code: 'custom', message: `${http.host} is not a loopback address: set http.auth.tokens (or http.tls.ca for client certificates) so clients are authenticated, or listen on 127.0.0.1`, path: ['host'], input: http.host });
    }
    if (http.headersTimeoutMs > http.requestTimeoutMs) {
      ctx.addIssue({ code: 'custom', message: `must not exceed requestTimeoutMs (${http.requestTimeoutMs})`, path: ['headersTimeoutMs'], input: http.headersTimeoutMs });
    }
  });

const JobsSchema = z.strictObject({
  /** Jobs run at once (composes of one ref are serialized regardless). Default 2. */
  concurrency: positiveInt().default(2),
  /** Directory under which each job gets its working and output directories. Default `/var/lib/relengd/jobs`. */
  workdir: absolutePath().default('/var/lib/relengd/jobs'),
  /** A job running longer is killed and fails. Default 240. */
  timeoutMinutes: positiveInt().default(240),
});

const RetentionSchema = z.strictObject({
  /** Days an event is kept after it was received. Events still needed (not yet dispatched, not yet published, of a queued or running job, of an open release candidate) are kept regardless. Default 90. */
  events: positiveInt().default(90),
  /** Days a rejected message is kept. Default 30. */
  rejected: positiveInt().default(30),
  /** Days a finished job's directory under `jobs.workdir` (log, outputs, artifacts) is kept after the job ended; those of an open release candidate are kept regardless. Default 30. */
  jobDirectories: positiveInt().default(30),
  /** Bytes of a rejected message's raw body kept (its full size is recorded): an oversized message is not stored whole. Default 65536. */
  rejectedRawBytes: z.int().min(0).default(65536),
  /** Minutes between prunings (the daemon also prunes on start). Default 60. */
  intervalMinutes: positiveInt().default(60),
});

const LogSchema = z.strictObject({
  /** `fatal` | `error` | `warn` | `info` | `debug` | `trace`. Default `info`. Env: `RELENGD_LOG_LEVEL`. */
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

// ---------------------------------------------------------------------------------------------
// streams

const DatagrepperRecoverySchema = z.strictObject({
  /** Base URL of a datagrepper instance (the API is at `<url>/v2/search`), e.g. https://apps.fedoraproject.org/datagrepper. */
  url: z.url(),
  /** Topics (full, with prefix) to ask for. Default: every topic the listeners subscribe to. */
  topics: z.array(text()).optional(),
  /** Look back at most this far when the store is empty or far behind. Default 24. */
  maxAgeHours: positiveInt().default(24),
});

const RecoverySchema = z.strictObject({
  /** Catch up from datagrepper on start, from the newest stored message's time, before consuming live (as fedmsg consumers did). */
  datagrepper: DatagrepperRecoverySchema.optional(),
});

/** A topic that should never be quiet for long: silence there means the feed (or relengd's consumer) stopped. */
const WatchSchema = z.strictObject({
  /** Bare topic (without topicPrefix), e.g. `bodhi.compose.complete`. */
  topic: text(),
  /** Hours without a stored message on the topic after which relengd reports it silent (`relengd.bus.silent`). */
  quietHours: z.number().positive().max(24 * 365),
});

const TAG_EVENTS = ['tag', 'untag', 'repo.done'] as const;

/**
 * A Koji tag trigger: a bare tag name, or `{tag, action, on}`. The bare form means
 * `{tag, action: compose, on: [tag, untag, repo.done]}`; the parsed output is always the object form.
 */
const TagTriggerSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { tag: value } : value),
  z.strictObject(
    {
      /** Koji tag name. */
      tag: text(),
      /** `compose`: compose a new commit | `artifacts`: rebuild only the artifacts of the current commit. Default `compose`. */
      action: z.enum(['compose', 'artifacts']).default('compose'),
      /** Which of the tag's messages fire: `tag` (buildsys.tag), `untag`, `repo.done`. Default all three. */
      on: z.array(z.enum(TAG_EVENTS)).min(1, 'must not be empty (omit it for all of tag, untag, repo.done)').default(() => [...TAG_EVENTS]),
    },
    { error: (iss) => (iss.code === 'invalid_type' ? 'expected a tag name or {tag, action, on}' : undefined) },
  ),
);

/**
 * A time trigger: the stream fires at every slot of `cron` read in `timezone` (Fedora's daily
 * two-week installer and images, `twoweek-nightly.sh` from cron). The streams of a group with the
 * same `cron`, `timezone` and `action` fire together, once per slot (one version for the group).
 */
const ScheduleTriggerSchema = z
  .strictObject({
    /** Crontab expression, five fields: minute hour day-of-month month day-of-week (`0 5 * * *`: 05:00 daily); `@daily`, `@hourly`, ... too. */
    cron: text(),
    /** IANA time zone the expression is read in. Default `UTC`. */
    timezone: text().refine(isTimeZone, 'not an IANA time zone (e.g. UTC, Europe/Prague, America/New_York)').default('UTC'),
    /** `compose`: compose a new commit | `artifacts`: rebuild installer and images from the current commit. Default `compose`. */
    action: z.enum(['compose', 'artifacts']).default('compose'),
    /** Slots missed while relengd was not running: `latest` fires the latest of them once on start | `none` skips them. Default `latest`. */
    catchUp: z.enum(['latest', 'none']).default('latest'),
  })
  .superRefine((schedule, ctx) => {
    if (!isTimeZone(schedule.timezone)) return; // reported at timezone
    const problem = cronProblem(schedule);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['cron'], input: schedule.cron });
  });

/**
 * A Pungi source (the seed's pre-release path): the nightly composes whose ostree phase commits
 * this stream's `ostree.ref` for its arch. Each `pungi.compose.ostree` of a matching compose is
 * checked against `repo`, then announced as this stream's compose; Pungi's
 * `pungi.compose.status.change` ends it (FINISHED, FINISHED_INCOMPLETE, DOOMED).
 */
const PungiTriggerSchema = z.strictObject({
  /** Pungi compose ids that count, as a glob (`*` any run of characters, `?` one): `Fedora-26-*.n.*` for Fedora 26's nightlies. */
  composeId: text().regex(/^[A-Za-z0-9._+~*?-]{1,128}$/, 'must be a compose id glob: letters, digits, ._+~- and the wildcards * and ?, at most 128 characters'),
  /** The Pungi variant whose ostree phase makes the commit (`Atomic`, `IoT`, ...), as Pungi's messages name it. */
  variant: text(),
  /** The compose repository Pungi commits into (absolute path, `/mnt/koji/compose/atomic/26/`): an announced commit counts only once it is found there. */
  repo: absolutePath(),
});

const TriggersSchema = z.strictObject({
  /** Pungi nightly composes whose commit of `ostree.ref` for this arch is this stream's candidate (`{composeId, variant, repo}`). Optional. */
  pungi: PungiTriggerSchema.optional(),
  /** Bodhi updates repos (e.g. `f26-updates`) whose compose/mash completion composes this stream. Default `[]`. */
  updatesRepos: z.array(text()).default(() => []),
  /** Koji tags whose changes trigger this stream (bare name or `{tag, action, on}`). Default `[]`. */
  tags: z.array(TagTriggerSchema).default(() => []),
  /** Times this stream fires (`{cron, timezone, action, catchUp}`). Default `[]`. */
  schedule: z.array(ScheduleTriggerSchema).default(() => []),
});

const OstreeSchema = z.strictObject({
  /** The OSTree repository (absolute path). */
  repo: absolutePath(),
  /** The ref composed into (validated against the OSTree ref grammar). */
  ref: OstreeRef,
  /** The rpm-ostree treefile. */
  treefile: text(),
  /**
   * Version template; placeholders {release} {date} {n} {group} (`n` counts the group's composes
   * that day). Shared by the arches of a group. Default `{release}.{date}.{n}`.
   */
  version: template(VERSION_PLACEHOLDERS)
    .refine((v) => /^[A-Za-z0-9._+~-]*$/.test(v.replace(/\{[a-z]+\}/g, '')) && !v.startsWith('-'), `besides placeholders, only ${SAFE_VALUE_HINT} (a version reaches command lines)`)
    .default('{release}.{date}.{n}'),
  /**
   * Compose id template, in Pungi's style (`Fedora-AtomicHost-{release}-{date}.{n}` gives
   * `Fedora-AtomicHost-26-20261202.0`); placeholders {release} {date} {n} {group}, where `n`
   * counts every compose of the group that day (also one that changed nothing, unlike the
   * version's). Shared by the arches of a group; must contain {date} and {n}, and differ between
   * groups. Default `{group}-{date}.{n}`.
   */
  composeId: template(VERSION_PLACEHOLDERS)
    .refine((v) => /^[A-Za-z0-9._+~-]*$/.test(v.replace(/\{[a-z]+\}/g, '')) && !v.startsWith('-'), `besides placeholders, only ${SAFE_VALUE_HINT} (a compose id reaches command lines)`)
    .refine((v) => v.includes('{date}') && v.includes('{n}'), 'must contain {date} and {n}: a compose id names one compose')
    .default('{group}-{date}.{n}'),
  /**
   * The compose command, as argv (run without a shell). Placeholders: {repo} {ref} {treefile}
   * {commitIdFile} {changedStamp} {version} {outputDir} {workdir} {release} {arch} {stream}.
   */
  compose: argv(COMPOSE_PLACEHOLDERS),
});

/** A repository `host[:port]/path` with the registry host written out. */
function imageRepository() {
  return text().superRefine((repository, ctx) => {
    const problem = repositoryProblem(repository);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: repository });
  });
}

/** A tag template whose literal text is tag-safe: `{placeholders}` from `allowed`, the rest `[A-Za-z0-9_.-]`. */
function imageTagTemplate(allowed: readonly string[]) {
  return template(allowed).refine((tag) => tag !== '' && /^[A-Za-z0-9_.-]*$/.test(tag.replace(/\{[a-z]+\}/g, '')) && !/^[.-]/.test(tag), 'besides placeholders, only letters, digits and _.- (not first): it becomes a tag');
}

/**
 * A container-image artifact's registry side (`kind: oci`). Each arch's image is pushed by digest
 * under `tag`; once every arch of the group has its image, one manifest list (OCI image index) over
 * them is pushed under `listTag`; promotion moves `releaseTag` to that list's digest. The streams of
 * a group share every key but `tag`.
 */
const OciImageSchema = z
  .strictObject({
    /** Registry and repository, without tag or digest: `quay.io/fedora/fedora-bootc`. The registry host is required. */
    repository: imageRepository(),
    /** Tag of one arch's image; placeholders {version} {release} {arch} {stream} {name}; differs between the arches of a group. Default `{version}-{arch}`. */
    tag: imageTagTemplate(IMAGE_TAG_PLACEHOLDERS).default('{version}-{arch}'),
    /** Tag of the group's manifest list (what testers pull); placeholders {version} {release} {name}. Default `{version}`. */
    listTag: imageTagTemplate(IMAGE_LIST_TAG_PLACEHOLDERS).default('{version}'),
    /** Tag promotion moves to the tested manifest list, by digest (`stable`, `latest`). Optional: absent, the image is never promoted. */
    releaseTag: text().regex(IMAGE_TAG, 'must be a tag: a letter, digit or _, then up to 127 of [A-Za-z0-9_.-]').optional(),
    /** Check the registry's TLS certificate (`--tls-verify`). Default true; false only for a registry on loopback. */
    tlsVerify: z.boolean().default(true),
    /** Registry credentials, a containers-auth.json file (absolute path, `--authfile`). Optional: the tools' default. */
    authFile: absolutePath().optional(),
  })
  .superRefine((oci, ctx) => {
    if (!oci.tlsVerify && isRepository(oci.repository) && !isLoopbackHost(registryHost(oci.repository))) {
      ctx.addIssue({ code: 'custom', message: `${registryHost(oci.repository)} is not a loopback address: TLS verification may only be turned off for a registry on this machine`, path: ['tlsVerify'] });
    }
    if (oci.releaseTag !== undefined && oci.releaseTag === oci.listTag) ctx.addIssue({ code: 'custom', message: 'must differ from listTag: promotion moves a separate tag', path: ['releaseTag'] });
  });

const ArtifactSchema = z.strictObject({
  /** Unique within the stream; `{name}` in templates. */
  name: text().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]*'),
  /** `installer` (lorax ISO) | `image` (disk/cloud image) | `oci` (container image pushed to a registry by digest; needs `oci`). */
  kind: z.enum(['installer', 'image', 'oci']),
  /** Stream-metadata platform (`metal`, `qemu`, `aws`, ...). */
  platform: text(),
  /** Stream-metadata format (`iso`, `qcow2`, `raw.xz`, ...). */
  format: text(),
  /** A failure makes the compose FINISHED_INCOMPLETE instead of DOOMED. Default false. */
  failable: z.boolean().default(false),
  /**
   * Which file the builder wrote is the artifact: a template that must start with `{outputDir}/`
   * (may end in a glob, `{outputDir}/*.qcow2`); no `..` components. For `kind: oci`, the OCI image
   * layout directory holding the one image built (`{outputDir}/image`), which relengd pushes.
   */
  output: template(ARTIFACT_PLACEHOLDERS).superRefine((output, ctx) => {
    if (!output.startsWith('{outputDir}/')) {
      ctx.addIssue({ code: 'custom', message: 'must start with "{outputDir}/" (artifacts are confined to the job\'s output directory)', input: output });
    } else if (output.split('/').includes('..')) {
      ctx.addIssue({ code: 'custom', message: 'must not contain ".." components (artifacts are confined to the job\'s output directory)', input: output });
    }
  }),
  /** The build command, as argv. Placeholders: those of `ostree.compose` plus {commit} {composeId} {name}. */
  command: argv(ARTIFACT_PLACEHOLDERS),
  /** Where a `kind: oci` image is pushed, and the tags promotion moves. Required with `kind: oci`, not allowed otherwise. */
  oci: OciImageSchema.optional(),
}).superRefine((artifact, ctx) => {
  if (artifact.kind === 'oci' && artifact.oci === undefined) ctx.addIssue({ code: 'custom', message: 'kind oci needs oci: {repository, ...}: where the image is pushed', path: ['oci'] });
  if (artifact.kind !== 'oci' && artifact.oci !== undefined) ctx.addIssue({ code: 'custom', message: `only kind oci is pushed to a registry; this artifact is kind ${artifact.kind}`, path: ['oci'] });
});

const GreenwaveGateSchema = z.strictObject({
  /** Greenwave decision context whose `policies_satisfied` is required. */
  decisionContext: text(),
  /**
   * Only decisions about this Greenwave subject type (`subject_type`: `compose`, `koji_build`, ...)
   * pass or fail the gate; others, and old messages that do not say, are ignored by it. Optional:
   * by default a decision about the candidate's commit, compose id or group label counts whatever its type.
   */
  subjectType: text().optional(),
});

const ResultsdbGateSchema = z.strictObject({
  /** ResultsDB testcases that must all have a passing outcome for the candidate. */
  testcases: z.array(text()).min(1, 'must not be empty'),
});

const ApprovalGateSchema = z.strictObject({
  /**
   * Approvals are the command `relengd.release.approve`; allow its senders in `publishers` (commands
   * are refused from everyone else). The key only names that topic: another would leave the real one
   * open while seeming to close it. Default `relengd.release.approve`.
   */
  topic: z
    .literal('relengd.release.approve', { error: 'approvals arrive on the command topic relengd.release.approve; allow its senders with publishers.relengd.release.approve' })
    .default('relengd.release.approve'),
});

const GATE_KINDS = ['greenwave', 'resultsdb', 'approval'] as const;

export type GreenwaveGateConfig = { greenwave: z.output<typeof GreenwaveGateSchema> };
export type ResultsdbGateConfig = { resultsdb: z.output<typeof ResultsdbGateSchema> };
export type ApprovalGateConfig = { approval: z.output<typeof ApprovalGateSchema> };
/** One gate: an object with exactly one of `greenwave`, `resultsdb`, `approval`. */
export type GateConfig = GreenwaveGateConfig | ResultsdbGateConfig | ApprovalGateConfig;

const GateSchema = z
  .strictObject(
    {
      greenwave: GreenwaveGateSchema.optional(),
      resultsdb: ResultsdbGateSchema.optional(),
      /** `approval:` with no value means the default topic. */
      approval: z.preprocess((value) => (value === null ? {} : value), ApprovalGateSchema).optional(),
    },
    { error: (iss) => (iss.code === 'invalid_type' ? 'expected a gate: {greenwave: ...}, {resultsdb: ...} or {approval: ...}' : undefined) },
  )
  .superRefine((gate, ctx) => {
    const kinds = GATE_KINDS.filter((kind) => gate[kind] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a gate has exactly one of greenwave, resultsdb, approval; found ${kinds.length === 0 ? 'none' : kinds.join(' and ')} (use one list item per gate)`,
        input: gate,
      });
    }
  })
  .transform((gate): GateConfig => {
    if (gate.greenwave) return { greenwave: gate.greenwave };
    if (gate.resultsdb) return { resultsdb: gate.resultsdb };
    return { approval: gate.approval! };
  });

const PromoteSchema = z.strictObject({
  /** The release ref moved to a passing compose's commit; must differ from `ostree.ref`. */
  ref: OstreeRef,
  /** Compose statuses that may be promoted: `FINISHED` | `FINISHED_INCOMPLETE`. Default `[FINISHED]`. */
  accept: z
    .array(z.enum(['FINISHED', 'FINISHED_INCOMPLETE']))
    .min(1, 'must not be empty')
    .default(() => ['FINISHED' as const]),
  /** All must pass, none may fail. Shared by the streams of a group. Default `[]` (no gating). */
  gates: z.array(GateSchema).default(() => []),
  /** Refuse a candidate that does not descend from the ref's current commit (`--force` overrides). Default true. */
  fastForwardOnly: z.boolean().default(true),
  summary: z
    .strictObject({
      /** GPG key id that signs the summary; null = unsigned. Default null. */
      gpgKey: text().nullable().default(null),
      /** GnuPG home holding the key (absolute path). Optional. */
      gpgHome: absolutePath().optional(),
    })
    .prefault({}),
  /** Generate static deltas from the previous release commit. Default false. */
  deltas: z.boolean().default(false),
  /** Where the group's stream metadata JSON is written (absolute path). Optional; shared by the group. */
  metadata: absolutePath().optional(),
  /** Base URL of artifact locations in the metadata (http/https). Optional; shared by the group. */
  baseUrl: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  /**
   * Where the candidate commits are, when not in `ostree.repo`: `{repo}` is the Pungi compose
   * repository (`triggers.pungi.repo`). Promotion pulls the commit into `ostree.repo` (`ostree
   * pull-local`, objects verified) before moving the ref there, and checks fast-forward in `repo`,
   * where the candidate's history is. Optional.
   */
  from: z
    .strictObject({
      /** The compose repository (absolute path); must be `triggers.pungi.repo`. */
      repo: absolutePath(),
    })
    .optional(),
});

/** A key id that counts: a fingerprint (40 hex digits) or a long key id (16). */
const GpgKeyId = text().regex(/^(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/, 'must be a GPG fingerprint (40 hex digits) or long key id (16 hex digits)');

/**
 * Signing of the stream's commits: each new commit is sent to a signer, and its release candidate
 * is promoted only once the commit carries a good signature by one of `keyIds`, as `ostree` checks
 * it against `keyring` (the signer's word is never enough). The commit a promotion writes on the
 * release ref is signed the same way before the ref moves. The streams of a group share it.
 */
const SignSchema = z.strictObject({
  /**
   * `request-reply`: publish `coreos.build.request.ostree-sign` with a `request_id` (Fedora
   * CoreOS's request to robosignatory) and take the `….finished` reply that echoes it, from the
   * publishers allowed in `publishers` | `robosignatory`: publish a `pungi.compose.ostree`
   * announcement, as Pungi does, and wait for the signature to appear in the repository.
   */
  protocol: z.enum(['request-reply', 'robosignatory']),
  /** Directory of public keyrings (`*.gpg` files, ostree's `trusted.gpg.d` layout) that signatures are checked against, and nothing else (absolute path). */
  keyring: absolutePath(),
  /** The keys whose good signature counts (fingerprints or long key ids); a good signature by another key of the keyring does not. */
  keyIds: z.array(GpgKeyId).min(1, 'must not be empty: name the key(s) whose signature counts'),
  /** How long a request waits for its signature before it times out (`relengd.sign.timed-out`). Default 60 (signers queue behind mass rebuilds). */
  timeoutMinutes: positiveInt().default(60),
  /** Send the same request again this often while it waits (Pungi re-announces its commits every few minutes). Optional: sent once. */
  resendMinutes: positiveInt().optional(),
  /** After a timeout, ask again (a new request id) this many times; then stop asking (a late reply or signature still counts). Default 2. */
  retries: z.int().min(0).default(2),
  /**
   * Where the signatures of container images are (absolute path): a lookaside directory in
   * containers' layout (`<dir>/<repository path>@sha256=<hex>/signature-1`, simple signing), which
   * the signer writes and relengd verifies with `skopeo standalone-verify` against `keyring` only.
   * Required when the group releases an image (`oci.releaseTag`): its digests are signed too.
   */
  signatures: absolutePath().optional(),
});

const StreamSchema = z
  .strictObject({
    /** Unique stream id: [a-z0-9][a-z0-9._-]*. */
    id: identifier(),
    /** Streams of a group (one release, all its arches) are promoted together. Same grammar as `id`. */
    group: identifier(),
    /** Release name or number, as a string (`"26"`): letters, digits, `._+~-`. Shared by the group. */
    release: text().regex(SAFE_VALUE, `must be ${SAFE_VALUE_HINT} (it becomes part of versions and command lines)`),
    /** Architecture (`x86_64`, `aarch64`, ...); unique within the group. */
    arch: identifier(),
    /** What composes this stream. Default: no triggers (manual only). */
    triggers: TriggersSchema.prefault({}),
    ostree: OstreeSchema,
    /** Installers and images built from each new commit. Default `[]`. */
    artifacts: z.array(ArtifactSchema).default(() => []),
    /** Promotion of passing composes to a release ref. Absent = never promoted. Present on all streams of a group or none. */
    promote: PromoteSchema.optional(),
    /** Signing of the stream's commits (`{protocol, keyring, keyIds, ...}`). Absent = not signed. Shared by the streams of a group. */
    sign: SignSchema.optional(),
  })
  .superRefine((stream, ctx) => {
    const seen = new Map<string, number>();
    for (const [i, artifact] of stream.artifacts.entries()) {
      const first = seen.get(artifact.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', message: `duplicate artifact name "${artifact.name}" (also artifacts[${first}])`, path: ['artifacts', i, 'name'], input: artifact.name });
      } else seen.set(artifact.name, i);
    }
    if (stream.promote && stream.promote.ref === stream.ostree.ref) {
      ctx.addIssue({ code: 'custom', message: `must differ from ostree.ref ("${stream.ostree.ref}"): promotion moves a separate release ref`, path: ['promote', 'ref'], input: stream.promote.ref });
    }
    checkPungiSource(stream, (path, message) => ctx.addIssue({ code: 'custom', message, path }));
  });

/** `triggers.pungi` and `promote.from` name the same compose repository, and a promotion can reach Pungi's commits. */
function checkPungiSource(
  stream: { triggers: { pungi?: { repo: string } | undefined }; ostree: { repo: string }; promote?: { from?: { repo: string } | undefined } | undefined },
  issue: (path: (string | number)[], message: string) => void,
): void {
  const pungi = stream.triggers.pungi;
  const from = stream.promote?.from;
  if (from && !pungi) issue(['promote', 'from'], 'pulls the commits Pungi made from its compose repository: set triggers.pungi too (other candidates are composed into ostree.repo)');
  else if (from && pungi && dirKey(from.repo) !== dirKey(pungi.repo)) {
    issue(['promote', 'from', 'repo'], `must be triggers.pungi.repo (${pungi.repo}): promotion pulls a commit from the repository it was found in`);
  } else if (pungi && stream.promote && !from && dirKey(pungi.repo) !== dirKey(stream.ostree.repo)) {
    issue(['promote'], `Pungi commits into triggers.pungi.repo (${pungi.repo}), not ostree.repo: set promote.from: {repo: ${pungi.repo}} so that promotion pulls the commit into ostree.repo`);
  }
}

/** A directory path compared as a key: normalized, without a trailing slash. */
function dirKey(path: string): string {
  return posix.normalize(path).replace(/(.)\/$/, '$1');
}

// ---------------------------------------------------------------------------------------------
// the whole file

export const ConfigSchema = z
  .strictObject({
    /**
     * Prefix of inbound topics (matched with or without it) and of relengd's own published topics,
     * without the trailing dot; '' for none. Default `org.fedoraproject.prod`.
     */
    topicPrefix: str().regex(TOPIC_PREFIX, 'must be dot-separated words without a leading or trailing dot (or "" for none)').default('org.fedoraproject.prod'),
    bus: BusSchema.prefault({}),
    store: StoreSchema.prefault({}),
    /** Serves /events ingest, /healthz, /readyz, /metrics and the status page. */
    http: HttpSchema.prefault({}),
    jobs: JobsSchema.prefault({}),
    log: LogSchema.prefault({}),
    /** How long the store keeps events, rejected messages and job directories. All keys have defaults. */
    retention: RetentionSchema.prefault({}),
    /**
     * Consume, store and decide, but run no job and publish nothing: each decision is logged
     * instead. For watching a production bus (Fedora's public broker) before relengd acts on it.
     * Default false.
     */
    dryRun: z.boolean().default(false),
    /** Recovering messages missed while relengd was down. Default: none. */
    recovery: RecoverySchema.prefault({}),
    /**
     * Who may send gating messages: bare topic (no prefix) -> allowed AMQP `user_id`s. A topic not
     * listed accepts anyone; a listed topic rejects messages without a matching `user_id`. Default `{}`.
     */
    publishers: z.record(text(), z.array(text()).min(1, 'must not be empty (an empty list would trust no one; remove the topic to accept anyone)')).default(() => ({})),
    /** The streams composed. Default `[]`. */
    streams: z.array(StreamSchema).default(() => []),
    /** Topics that must not go quiet: `[{topic, quietHours}]`. Default `[]`. */
    watch: z.array(WatchSchema).default(() => []),
  })
  .superRefine((config, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', message, path });

    // Transport specifics.
    const { amqp, kafka, transport } = config.bus;
    if (amqp.tls && !amqp.url.startsWith('amqps:')) issue(['bus', 'amqp', 'tls'], 'TLS files are set but bus.amqp.url is not amqps://: they would be ignored');
    if (transport === 'kafka' && kafka.brokers.length === 0) issue(['bus', 'kafka', 'brokers'], 'must not be empty with transport kafka');

    // A catch-up reaching past the retention would take messages pruned after they were handled for new ones.
    const catchUp = config.recovery.datagrepper;
    if (catchUp && catchUp.maxAgeHours > config.retention.events * 24) {
      issue(['recovery', 'datagrepper', 'maxAgeHours'], `reaches back further than retention.events (${config.retention.events} days): messages pruned after they were handled would be taken for new ones`);
    }

    // Bare topics: a prefixed key would leave the bare topic without an allowlist.
    const prefix = config.topicPrefix ? `${config.topicPrefix}.` : undefined;
    if (prefix) {
      for (const topic of Object.keys(config.publishers)) {
        if (topic.startsWith(prefix)) issue(['publishers', topic], `use the bare topic "${topic.slice(prefix.length)}" (without the topicPrefix)`);
      }
    }
    const watched = new Map<string, number>();
    for (const [i, { topic }] of config.watch.entries()) {
      if (prefix && topic.startsWith(prefix)) issue(['watch', i, 'topic'], `use the bare topic "${topic.slice(prefix.length)}" (without the topicPrefix)`);
      const first = watched.get(topic);
      if (first !== undefined) issue(['watch', i, 'topic'], `"${topic}" is watched already (watch[${first}])`);
      else watched.set(topic, i);
    }

    checkSharedSchedules(config.streams, issue);
    checkSignReplies(config.streams, config.publishers, issue);
    checkGroupImages(config.streams, issue);
    checkSignedImages(config.streams, config.publishers, issue);

    // Streams: ids, groups, refs.
    const ids = new Map<string, number>();
    const groups = new Map<string, { first: number; arches: Map<string, number> }>();
    const composeIdPatterns = new Map<string, string>();
    const refWriters = new Map<string, string>();
    for (const [i, stream] of config.streams.entries()) {
      const firstWithId = ids.get(stream.id);
      if (firstWithId !== undefined) issue(['streams', i, 'id'], `duplicate stream id "${stream.id}" (also streams[${firstWithId}])`);
      else ids.set(stream.id, i);

      const repo = dirKey(stream.ostree.repo);
      const claim = (ref: string, path: (string | number)[]) => {
        const key = `${repo}\0${ref}`;
        const owner = refWriters.get(key);
        if (owner !== undefined) issue(path, `ref "${ref}" in ${repo} is already written by ${owner}; each ref has one writer`);
        else refWriters.set(key, `streams[${i}].${path.slice(2).join('.')}`);
      };
      claim(stream.ostree.ref, ['streams', i, 'ostree', 'ref']);
      if (stream.promote) claim(stream.promote.ref, ['streams', i, 'promote', 'ref']);

      const group = groups.get(stream.group);
      if (group === undefined) {
        groups.set(stream.group, { first: i, arches: new Map([[stream.arch, i]]) });
        // Gating decisions name a compose by its id: two groups must never share one.
        const composeIds = expandTemplate(stream.ostree.composeId, { group: stream.group, release: stream.release, date: '{date}', n: '{n}' });
        const sharing = composeIdPatterns.get(composeIds);
        if (sharing !== undefined) issue(['streams', i, 'ostree', 'composeId'], `gives the same compose ids as group "${sharing}" ("${composeIds}"): put {group} or another prefix in it`);
        else composeIdPatterns.set(composeIds, stream.group);
        continue;
      }
      const first = config.streams[group.first]!;
      const inGroup = `group "${stream.group}"`;
      const where = `streams[${group.first}]`;
      if (stream.release !== first.release) issue(['streams', i, 'release'], `is "${stream.release}" but ${where} of ${inGroup} has "${first.release}": a group is one release`);
      const sameArch = group.arches.get(stream.arch);
      if (sameArch !== undefined) issue(['streams', i, 'arch'], `${inGroup} already has arch "${stream.arch}" (streams[${sameArch}]); a group has one stream per arch`);
      else group.arches.set(stream.arch, i);
      if (stream.ostree.version !== first.ostree.version) {
        issue(['streams', i, 'ostree', 'version'], `differs from ${where} of ${inGroup} ("${first.ostree.version}"): the arches of a group share their version`);
      }
      if (stream.ostree.composeId !== first.ostree.composeId) {
        issue(['streams', i, 'ostree', 'composeId'], `differs from ${where} of ${inGroup} ("${first.ostree.composeId}"): the arches of a group share their compose ids`);
      }
      if (JSON.stringify(stream.sign) !== JSON.stringify(first.sign)) {
        issue(['streams', i, 'sign'], `differs from ${where} of ${inGroup}: a group is signed alike, its streams share sign`);
      }
      if ((stream.promote === undefined) !== (first.promote === undefined)) {
        issue(['streams', i, 'promote'], stream.promote ? `${where} of ${inGroup} has no promote: a group is promoted together, set promote on all its streams or none` : `${where} of ${inGroup} has promote: a group is promoted together, set promote on all its streams or none`);
      } else if (stream.promote && first.promote) {
        for (const key of ['accept', 'gates', 'metadata', 'baseUrl'] as const) {
          if (JSON.stringify(stream.promote[key]) !== JSON.stringify(first.promote[key])) {
            issue(['streams', i, 'promote', key], `differs from ${where} of ${inGroup}: a group is promoted together, its streams share promote.${key}`);
          }
        }
      }
    }
  });

/** A group's streams with the same schedule fire once per slot for all of them: they must agree on catching up. */
function checkSharedSchedules(streams: readonly z.output<typeof StreamSchema>[], issue: (path: (string | number)[], message: string) => void): void {
  const first = new Map<string, { catchUp: string; where: string }>();
  for (const [i, stream] of streams.entries()) {
    for (const [j, schedule] of stream.triggers.schedule.entries()) {
      const key = JSON.stringify([stream.group, schedule.cron, schedule.timezone, schedule.action]);
      const seen = first.get(key);
      if (seen === undefined) first.set(key, { catchUp: schedule.catchUp, where: `streams[${i}].triggers.schedule[${j}]` });
      else if (seen.catchUp !== schedule.catchUp) {
        issue(['streams', i, 'triggers', 'schedule', j, 'catchUp'], `is "${schedule.catchUp}" but ${seen.where} of group "${stream.group}" has "${seen.catchUp}": the streams of a group sharing a schedule fire together, so they share catchUp`);
      }
    }
  }
}

/**
 * A group's container image is one manifest list over its arches: an `oci` artifact is on every
 * stream of the group or none, and its streams agree on everything but the per-arch `tag`.
 */
function checkGroupImages(streams: readonly z.output<typeof StreamSchema>[], issue: (path: (string | number)[], message: string) => void): void {
  const groups = new Map<string, number[]>();
  for (const [i, stream] of streams.entries()) groups.set(stream.group, [...(groups.get(stream.group) ?? []), i]);
  for (const [group, members] of groups) {
    const names = new Set(members.flatMap((i) => streams[i]!.artifacts.filter((a) => a.kind === 'oci').map((a) => a.name)));
    for (const name of names) {
      let first: { where: string; shared: string } | undefined;
      const tags = new Map<string, string>();
      for (const i of members) {
        const j = streams[i]!.artifacts.findIndex((a) => a.name === name);
        const oci = streams[i]!.artifacts[j]?.oci;
        if (!oci) {
          issue(['streams', i, 'artifacts'], `has no oci artifact "${name}", which other streams of group "${group}" have: a group's image is one manifest list over all its arches`);
          continue;
        }
        const { tag, ...rest } = oci;
        // Two arches pushing under one tag would each overwrite the other's image.
        const perArch = tag.replaceAll('{arch}', streams[i]!.arch).replaceAll('{stream}', streams[i]!.id);
        const sameTag = tags.get(perArch);
        if (sameTag !== undefined) issue(['streams', i, 'artifacts', j, 'oci', 'tag'], `is the tag of ${sameTag} too: the arches of a group push their images under different tags (use {arch})`);
        else tags.set(perArch, `streams[${i}]`);
        const shared = JSON.stringify(rest);
        if (first === undefined) first = { where: `streams[${i}].artifacts[${j}]`, shared };
        else if (shared !== first.shared) issue(['streams', i, 'artifacts', j, 'oci'], `differs from ${first.where} of group "${group}": the arches of a group share repository, listTag, releaseTag, tlsVerify and authFile`);
      }
    }
  }
}

/** The topic a `request-reply` signer answers on; a gating fact (src/trust.ts), so it counts only from the publishers allowed for it. */
export const SIGN_REPLY_TOPIC = 'coreos.build.request.ostree-sign.finished';

/** A `request-reply` signer's replies count only from its allowed publishers: without any, no reply would ever count. */
function checkSignReplies(streams: readonly z.output<typeof StreamSchema>[], publishers: Readonly<Record<string, readonly string[]>>, issue: (path: (string | number)[], message: string) => void): void {
  for (const [i, stream] of streams.entries()) {
    if (stream.sign?.protocol === 'request-reply' && !Object.hasOwn(publishers, SIGN_REPLY_TOPIC)) {
      issue(['streams', i, 'sign', 'protocol'], `the signer's replies count only from allowed publishers: set publishers.${SIGN_REPLY_TOPIC} (robosignatory's user_id)`);
    }
    if (stream.sign?.resendMinutes !== undefined && stream.sign.resendMinutes >= stream.sign.timeoutMinutes) {
      issue(['streams', i, 'sign', 'resendMinutes'], `must be less than timeoutMinutes (${stream.sign.timeoutMinutes}): a request is sent again while it waits`);
    }
  }
}

/** The topic a signer answers image signing requests on (`coreos.build.request.artifacts-sign`); a gating fact too. */
export const IMAGE_SIGN_REPLY_TOPIC = 'coreos.build.request.artifacts-sign.finished';

/**
 * A signed group that releases an image has its digests signed too: the signatures need a place
 * (`sign.signatures`), and with `request-reply` the signer's replies need allowed publishers.
 */
function checkSignedImages(streams: readonly z.output<typeof StreamSchema>[], publishers: Readonly<Record<string, readonly string[]>>, issue: (path: (string | number)[], message: string) => void): void {
  for (const [i, stream] of streams.entries()) {
    if (!stream.sign || !stream.artifacts.some((a) => a.oci?.releaseTag !== undefined)) continue;
    if (stream.sign.signatures === undefined) issue(['streams', i, 'sign', 'signatures'], 'is required: the stream releases an image (oci.releaseTag), whose digests are signed into this lookaside directory');
    if (stream.sign.protocol === 'request-reply' && !Object.hasOwn(publishers, IMAGE_SIGN_REPLY_TOPIC)) {
      issue(['streams', i, 'sign', 'protocol'], `the signer's replies about images count only from allowed publishers: set publishers.${IMAGE_SIGN_REPLY_TOPIC} (robosignatory's user_id)`);
    }
  }
}

/** The parsed configuration: every default applied, tag triggers in object form. */
export type Config = z.output<typeof ConfigSchema>;
/** The configuration as written (before defaults). */
export type ConfigInput = z.input<typeof ConfigSchema>;
export type StreamConfig = Config['streams'][number];
export type ArtifactConfig = StreamConfig['artifacts'][number];
export type OciImageConfig = NonNullable<ArtifactConfig['oci']>;
export type TagTriggerConfig = StreamConfig['triggers']['tags'][number];
export type ScheduleTriggerConfig = StreamConfig['triggers']['schedule'][number];
export type PromoteConfig = NonNullable<StreamConfig['promote']>;
export type PungiTriggerConfig = NonNullable<StreamConfig['triggers']['pungi']>;
export type SignConfig = NonNullable<StreamConfig['sign']>;
export type BusConfig = Config['bus'];
export type AmqpConfig = BusConfig['amqp'];
export type KafkaConfig = BusConfig['kafka'];
export type LogLevel = Config['log']['level'];
export type RetentionConfig = Config['retention'];
export type WatchConfig = Config['watch'][number];
