/**
 * Versioned PostgreSQL schema migrations. Append only: a released migration is never edited; a
 * change is a new entry. `relengd_migrations` records each one applied (see migrate.ts).
 *
 * Version 1 is the SQLite store's schema (src/store/migrations.ts, versions 1-7) as it stands, with
 * the same column names and meanings. Choices:
 * - JSON documents (headers, data, spec, result, emitted, state values) are TEXT, not JSONB: the
 *   SQLite store hands back exactly the text it stored (an inbound body is kept byte for byte as the
 *   data when `raw_is_data`; JSONB would reorder keys and re-space it), and nothing here queries
 *   inside them but one lookup (`jobs.spec`'s composeId), which casts.
 * - Times relengd writes (time, received_at, created_at...) stay ISO-8601 TEXT from the injected
 *   clock, compared as text as in SQLite. Leases and heartbeats (version 2) are TIMESTAMPTZ from
 *   the server's clock: replicas on several machines then agree on when a lease expires.
 * - Booleans the SQLite store keeps as 0/1 INTEGER (known, raw_is_data) are BOOLEAN.
 * - jobs and outbox get a BIGSERIAL `seq`: SQLite broke ties on created_at by rowid, which
 *   PostgreSQL has no equivalent of.
 */
export const postgresMigrations: readonly string[] = [
  // 1: events (inbox), rejected messages, outbox, jobs, listener state, daemons.
  `
  CREATE TABLE events (
    seq               BIGSERIAL PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    topic             TEXT NOT NULL,
    prefix            TEXT NOT NULL,
    type              TEXT NOT NULL,
    source            TEXT NOT NULL,
    subject           TEXT,
    time              TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    correlation_id    TEXT NOT NULL,
    causation_id      TEXT,
    publisher         TEXT,
    origin            TEXT NOT NULL CHECK (origin IN ('inbound', 'emitted')),
    transport         TEXT NOT NULL,
    known             BOOLEAN NOT NULL,
    headers           TEXT NOT NULL,
    data              TEXT NOT NULL,
    raw               BYTEA,
    raw_is_data       BOOLEAN NOT NULL DEFAULT false,
    dispatch_state    TEXT NOT NULL DEFAULT 'pending' CHECK (dispatch_state IN ('pending', 'done', 'failed')),
    dispatched_at     TEXT,
    dispatch_attempts INTEGER NOT NULL DEFAULT 0,
    dispatch_error    TEXT
  );
  CREATE INDEX events_pending ON events (seq) WHERE dispatch_state = 'pending';
  CREATE INDEX events_topic_time ON events (topic, time);
  CREATE INDEX events_correlation_emitted ON events (correlation_id) WHERE origin = 'emitted';

  CREATE TABLE rejected (
    seq          BIGSERIAL PRIMARY KEY,
    received_at  TEXT NOT NULL,
    transport    TEXT NOT NULL,
    topic        TEXT,
    message_id   TEXT,
    publisher    TEXT,
    reason       TEXT NOT NULL,
    field        TEXT,
    detail       TEXT NOT NULL,
    headers      TEXT NOT NULL,
    raw          BYTEA NOT NULL,
    raw_size     INTEGER
  );

  CREATE TABLE outbox (
    event_id     TEXT PRIMARY KEY REFERENCES events (id),
    seq          BIGSERIAL NOT NULL,
    routing_key  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    sent_at      TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
  );
  CREATE INDEX outbox_pending ON outbox (created_at, seq) WHERE sent_at IS NULL;

  CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    seq             BIGSERIAL NOT NULL,
    kind            TEXT NOT NULL,
    queue_key       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled')),
    spec            TEXT NOT NULL,
    cause_event_id  TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    listener        TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    log_path        TEXT,
    result          TEXT,
    error           TEXT,
    emitted         TEXT NOT NULL DEFAULT '[]',
    retries         INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX jobs_state ON jobs (state, created_at);
  CREATE INDEX jobs_queue ON jobs (queue_key, state);
  CREATE INDEX jobs_cause ON jobs (cause_event_id);

  CREATE TABLE state (
    namespace   TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
  );

  CREATE TABLE daemons (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    url           TEXT,
    version       TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL
  );
  `,
  // 2: several replicas on one database: job and outbox claims under leases, named leases (the
  // dispatcher's), and the replicas with their heartbeats.
  `
  ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
  ALTER TABLE jobs ADD COLUMN lease_expires_at TIMESTAMPTZ;
  -- One running job per queue key across all replicas: the claim serialises per key, this makes a
  -- slip an error instead of two composes of one ref.
  CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (queue_key) WHERE state = 'running';
  CREATE INDEX jobs_claimed_by ON jobs (claimed_by) WHERE state = 'running';

  ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
  ALTER TABLE outbox ADD COLUMN claim_expires_at TIMESTAMPTZ;

  CREATE TABLE leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    acquired_at  TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE replicas (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL
  );
  `,
];
