-- The event log: the single source of truth.
CREATE TABLE event_streams (
    stream_id      text PRIMARY KEY,
    version        bigint NOT NULL CHECK (version > 0),
    -- The transaction that last appended to the stream. An append from an
    -- older transaction is refused, so that within a stream the readers'
    -- (transaction_id, global_position) order is the version order.
    transaction_id xid8 NOT NULL
);

CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text NOT NULL,
    stream_version  bigint NOT NULL,
    event_id        uuid NOT NULL,
    event_name      text NOT NULL,
    schema_version  int NOT NULL DEFAULT 1,
    payload         jsonb NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}',
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- Readers take rows in this order, below the snapshot's xmin.
    PRIMARY KEY (transaction_id, global_position),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);
CREATE INDEX events_global_position_idx ON events (global_position);
CREATE INDEX events_occurred_at_idx ON events (occurred_at);

-- Cross-stream invariants (unique names, one open alert per dedup key),
-- written in the same transaction as the events that rely on them.
CREATE TABLE reservations (
    scope      text NOT NULL,
    key        text NOT NULL,
    owner      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Projection checkpoints, in the layout of watermill-sql's PostgreSQL
-- offsets adapter: one row per consumer group ("projection.<name>").
CREATE TABLE projection_offsets (
    consumer_group                varchar(255) PRIMARY KEY,
    offset_acked                  bigint,
    last_processed_transaction_id xid8 NOT NULL
);

-- The last stream version each projection applied, so that a redelivered
-- event is never applied twice.
CREATE TABLE projection_stream_versions (
    projection text NOT NULL,
    stream_id  text NOT NULL,
    version    bigint NOT NULL,
    PRIMARY KEY (projection, stream_id)
);

---- create above / drop below ----

DROP TABLE projection_stream_versions;
DROP TABLE projection_offsets;
DROP TABLE reservations;
DROP TABLE events;
DROP TABLE event_streams;
