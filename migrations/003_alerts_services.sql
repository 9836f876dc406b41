-- Alert numbers people type and reply with.
CREATE SEQUENCE alert_id_seq;

-- Write-side guards, written in the same transaction as the events they
-- mirror (like reservations), and derivable from the log.

-- One open alert per (service, dedup key); its status counts the service's
-- unacknowledged alerts for the system limit.
CREATE TABLE open_alerts (
    alert_id   bigint PRIMARY KEY,
    service_id uuid NOT NULL,
    dedup_key  text NOT NULL,
    status     text NOT NULL,
    UNIQUE (service_id, dedup_key)
);
CREATE INDEX open_alerts_unacked_idx ON open_alerts (service_id) WHERE status = 'triggered';

-- Live integration key tokens: deleting a key stops it at once.
CREATE TABLE integration_key_tokens (
    token      uuid PRIMARY KEY,
    service_id uuid NOT NULL,
    type       text NOT NULL
);
CREATE INDEX integration_key_tokens_service_idx ON integration_key_tokens (service_id);

-- Current system limits that differ from the defaults.
CREATE TABLE system_limits (
    id    text PRIMARY KEY,
    value int NOT NULL
);

-- Read models (projection "services").
CREATE TABLE services (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL,
    description            text NOT NULL DEFAULT '',
    escalation_policy_id   text NOT NULL DEFAULT '',
    maintenance_expires_at timestamptz,
    created_at             timestamptz NOT NULL
);
CREATE INDEX services_name_idx ON services (lower(name));

CREATE TABLE service_labels (
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    key        text NOT NULL,
    value      text NOT NULL,
    PRIMARY KEY (service_id, key)
);

CREATE TABLE integration_keys (
    id                   uuid PRIMARY KEY,
    service_id           uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name                 text NOT NULL,
    type                 text NOT NULL,
    external_system_name text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL
);
CREATE INDEX integration_keys_service_idx ON integration_keys (service_id);

-- Read models (projection "alerts").
CREATE TABLE alerts (
    id         bigint PRIMARY KEY,
    service_id uuid NOT NULL,
    status     text NOT NULL,
    summary    text NOT NULL,
    details    text NOT NULL,
    dedup_key  text NOT NULL,
    source     text NOT NULL,
    meta       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX alerts_status_idx ON alerts (status, id DESC);
CREATE INDEX alerts_service_idx ON alerts (service_id, id DESC);

CREATE TABLE alert_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id   bigint NOT NULL,
    at         timestamptz NOT NULL,
    event      text NOT NULL,
    actor      text NOT NULL DEFAULT '',
    actor_name text NOT NULL DEFAULT '',
    source     text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_log_alert_idx ON alert_log (alert_id, id);

---- create above / drop below ----

DROP TABLE alert_log;
DROP TABLE alerts;
DROP TABLE integration_keys;
DROP TABLE service_labels;
DROP TABLE services;
DROP TABLE system_limits;
DROP TABLE integration_key_tokens;
DROP TABLE open_alerts;
DROP SEQUENCE alert_id_seq;
