/**
 * Versioned schema migrations. Append only: a released migration is never edited;
 * a change is a new entry. `user_version` records the last one applied.
 */
export const migrations: readonly string[] = [
  // 1: inbox/events, rejected messages, outbox, jobs, listener state.
  `
  CREATE TABLE events (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
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
    known             INTEGER NOT NULL,
    headers           TEXT NOT NULL,
    data              TEXT NOT NULL,
    raw               BLOB,
    dispatch_state    TEXT NOT NULL DEFAULT 'pending' CHECK (dispatch_state IN ('pending', 'done', 'failed')),
    dispatched_at     TEXT,
    dispatch_attempts INTEGER NOT NULL DEFAULT 0,
    dispatch_error    TEXT
  );
  CREATE INDEX events_pending ON events (seq) WHERE dispatch_state = 'pending';
  CREATE INDEX events_topic_time ON events (topic, time);
  CREATE INDEX events_time ON events (time);
  CREATE INDEX events_correlation ON events (correlation_id);

  CREATE TABLE rejected (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  TEXT NOT NULL,
    transport    TEXT NOT NULL,
    topic        TEXT,
    message_id   TEXT,
    publisher    TEXT,
    reason       TEXT NOT NULL,
    field        TEXT,
    detail       TEXT NOT NULL,
    headers      TEXT NOT NULL,
    raw          BLOB NOT NULL
  );

  CREATE TABLE outbox (
    event_id     TEXT PRIMARY KEY REFERENCES events (id),
    routing_key  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    sent_at      TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
  );
  CREATE INDEX outbox_pending ON outbox (created_at) WHERE sent_at IS NULL;

  CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
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
    error           TEXT
  );
  CREATE INDEX jobs_state ON jobs (state, created_at);
  CREATE INDEX jobs_queue ON jobs (queue_key, state);

  CREATE TABLE state (
    namespace   TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
  );
  `,
  // 2: the ids of the events a job emitted, so replay can tell a job whose outcome event was lost.
  `ALTER TABLE jobs ADD COLUMN emitted TEXT NOT NULL DEFAULT '[]';`,
  // 3: a message body is stored once: as the data, when the raw bytes are exactly that body.
  `ALTER TABLE events ADD COLUMN raw_is_data INTEGER NOT NULL DEFAULT 0;`,
  // 4: fewer random index writes per inbound message (measured: 58 -> 37 us a message). An inbound
  // message's correlation id is its own id (already the unique key); time ranges are read in seq order.
  `DROP INDEX events_time;
   DROP INDEX events_correlation;
   CREATE INDEX events_correlation_emitted ON events (correlation_id) WHERE origin = 'emitted';`,
  // 5: a rejected message keeps only the first bytes of its body (retention.rejectedRawBytes) and
  // records its full size; NULL for rows stored whole before this.
  `ALTER TABLE rejected ADD COLUMN raw_size INTEGER;`,
  // 6: the daemons using this store and their heartbeats (status, promote --wait: is relengd up?).
  `CREATE TABLE daemons (
     id            TEXT PRIMARY KEY,
     host          TEXT NOT NULL,
     pid           INTEGER NOT NULL,
     url           TEXT,
     version       TEXT NOT NULL,
     started_at    TEXT NOT NULL,
     heartbeat_at  TEXT NOT NULL
   );`,
  // 7: how many times an operator retried a job: a retry's result events get ids of their own.
  `ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;`,
];
