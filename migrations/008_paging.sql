-- Paging: escalation state, the outgoing message queue, heartbeat
-- monitors (write side, kept in the same transactions as the events they
-- follow), and the read models of contact methods, notification rules and
-- escalation policies (projection "paging").

-- Where each alert the engine still has to act on is in its policy. A row
-- is due when due_at has passed (by the engine's clock): step -1 enters
-- step 0, others move on. due_at NULL: nothing to do (acknowledged, or the
-- last step of the last repeat). Closing the alert deletes the row.
CREATE TABLE escalation_state (
    alert_id        bigint PRIMARY KEY,
    service_id      uuid NOT NULL,
    policy_id       text NOT NULL DEFAULT '',
    step            int NOT NULL DEFAULT -1,
    repeat          int NOT NULL DEFAULT 0,
    forced          boolean NOT NULL DEFAULT false,
    -- held: waiting for the service's maintenance window to end.
    held            boolean NOT NULL DEFAULT false,
    due_at          timestamptz,
    last_escalation timestamptz,
    -- escalation_seq counts step entries; messages of one entry share it.
    escalation_seq  int NOT NULL DEFAULT 0
);
CREATE INDEX escalation_state_due_idx ON escalation_state (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX escalation_state_service_idx ON escalation_state (service_id);

-- The outgoing message queue. A row is written in the transaction that
-- decides the message (an escalation step, a verification request...);
-- a sender claims it when due, sends it outside any transaction and
-- records the outcome (and a notification.* event).
--   pending  waiting for due_at (or a retry)
--   sending  claimed by a sender until lease_until
--   sent / delivered / failed / cancelled  final
CREATE TABLE outgoing_messages (
    id                uuid PRIMARY KEY,
    kind              text NOT NULL,
    -- dedup_key makes queuing idempotent: the same page for the same step
    -- entry is queued once.
    dedup_key         text UNIQUE,
    alert_id          bigint,
    service_id        uuid,
    user_id           uuid,
    contact_method_id uuid,
    dest              jsonb NOT NULL,
    payload           jsonb NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'pending',
    due_at            timestamptz NOT NULL,
    created_at        timestamptz NOT NULL,
    attempts          int NOT NULL DEFAULT 0,
    lease_until       timestamptz,
    sent_at           timestamptz,
    provider_id       text,
    detail            text NOT NULL DEFAULT ''
);
CREATE INDEX outgoing_messages_due_idx ON outgoing_messages (due_at) WHERE status = 'pending';
CREATE INDEX outgoing_messages_lease_idx ON outgoing_messages (lease_until) WHERE status = 'sending';
CREATE INDEX outgoing_messages_alert_idx ON outgoing_messages (alert_id) WHERE status = 'pending';
CREATE INDEX outgoing_messages_cm_sent_idx ON outgoing_messages (contact_method_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outgoing_messages_provider_idx ON outgoing_messages (provider_id) WHERE provider_id IS NOT NULL;

-- Contact methods that receive status updates for an alert after a page
-- reached them.
CREATE TABLE alert_status_subscriptions (
    alert_id          bigint NOT NULL,
    contact_method_id uuid NOT NULL,
    user_id           uuid NOT NULL,
    dest              jsonb NOT NULL,
    PRIMARY KEY (alert_id, contact_method_id)
);

-- SMS reply codes: per phone number, the smallest number not used by
-- another open alert.
CREATE TABLE sms_reply_codes (
    phone      text NOT NULL,
    code       int NOT NULL,
    alert_id   bigint NOT NULL,
    sent_at    timestamptz NOT NULL,
    PRIMARY KEY (phone, code),
    UNIQUE (phone, alert_id)
);

-- Unhelpful answers sent to a number since its last successful action.
CREATE TABLE sms_reply_limits (
    phone      text PRIMARY KEY,
    unhelpful  int NOT NULL DEFAULT 0
);

-- Heartbeat monitors as the engine watches them. A check-in moves due_at;
-- only state changes are events.
CREATE TABLE heartbeat_state (
    monitor_id      uuid PRIMARY KEY,
    service_id      uuid NOT NULL,
    name            text NOT NULL,
    timeout_minutes int NOT NULL,
    details         text NOT NULL DEFAULT '',
    muted           boolean NOT NULL DEFAULT false,
    state           text NOT NULL DEFAULT 'inactive',
    last_beat       timestamptz,
    due_at          timestamptz,
    alert_id        bigint
);
CREATE INDEX heartbeat_state_due_idx ON heartbeat_state (due_at) WHERE due_at IS NOT NULL;

-- Read models (projection "paging").
CREATE TABLE user_contact_methods (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL,
    name           text NOT NULL,
    dest           jsonb NOT NULL,
    disabled       boolean NOT NULL,
    pending        boolean NOT NULL,
    status_updates boolean NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX user_contact_methods_user_idx ON user_contact_methods (user_id);

CREATE TABLE user_notification_rules (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL,
    contact_method_id uuid NOT NULL,
    delay_minutes     int NOT NULL,
    created_at        timestamptz NOT NULL
);
CREATE INDEX user_notification_rules_user_idx ON user_notification_rules (user_id);

CREATE TABLE escalation_policies (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    repeat      int NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX escalation_policies_name_idx ON escalation_policies (lower(name));

CREATE TABLE escalation_policy_steps (
    id            uuid PRIMARY KEY,
    policy_id     uuid NOT NULL,
    step_number   int NOT NULL,
    delay_minutes int NOT NULL,
    actions       jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX escalation_policy_steps_policy_idx ON escalation_policy_steps (policy_id, step_number);

CREATE TABLE heartbeat_monitors (
    id                 uuid PRIMARY KEY,
    service_id         uuid NOT NULL,
    name               text NOT NULL,
    timeout_minutes    int NOT NULL,
    additional_details text NOT NULL DEFAULT '',
    muted_reason       text NOT NULL DEFAULT '',
    last_state         text NOT NULL DEFAULT 'inactive'
);
CREATE INDEX heartbeat_monitors_service_idx ON heartbeat_monitors (service_id);

-- Notification outcomes in alert logs (from message streams).
CREATE TABLE alert_notification_log (
    message_id     uuid NOT NULL,
    stream_version bigint NOT NULL,
    alert_id       bigint NOT NULL,
    at             timestamptz NOT NULL,
    event          text NOT NULL,
    user_id        text NOT NULL DEFAULT '',
    user_name      text NOT NULL DEFAULT '',
    dest_type      text NOT NULL DEFAULT '',
    detail         text NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, stream_version)
);
CREATE INDEX alert_notification_log_alert_idx ON alert_notification_log (alert_id, at);

-- The alert's position in its policy, for alert.state.
ALTER TABLE alerts ADD COLUMN step_number int;
ALTER TABLE alerts ADD COLUMN repeat_count int;
ALTER TABLE alerts ADD COLUMN last_escalation timestamptz;

---- create above / drop below ----

ALTER TABLE alerts DROP COLUMN last_escalation;
ALTER TABLE alerts DROP COLUMN repeat_count;
ALTER TABLE alerts DROP COLUMN step_number;
DROP TABLE alert_notification_log;
DROP TABLE heartbeat_monitors;
DROP TABLE escalation_policy_steps;
DROP TABLE escalation_policies;
DROP TABLE user_notification_rules;
DROP TABLE user_contact_methods;
DROP TABLE heartbeat_state;
DROP TABLE sms_reply_limits;
DROP TABLE sms_reply_codes;
DROP TABLE alert_status_subscriptions;
DROP TABLE outgoing_messages;
DROP TABLE escalation_state;
