-- On-call: the read models of rotations, schedules (targets and rules,
-- user overrides, temporary schedules, on-call notification rules) and
-- calendar subscriptions, and the on-call history (projection "oncall").
-- Ids are kept as text: the read model takes what the log holds.

CREATE TABLE rotations (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    type          text NOT NULL,
    shift_length  int NOT NULL,
    start_time    timestamptz NOT NULL,
    time_zone     text NOT NULL,
    -- active_index (-1: nobody) was on call at active_at; the rotation
    -- moves on one participant per hand-off after it.
    active_index  int NOT NULL,
    active_at     timestamptz NOT NULL,
    -- oncall_history holds the rotation's history up to here; after it,
    -- the definition above tells who is on call.
    history_until timestamptz NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX rotations_name_idx ON rotations (lower(name));

CREATE TABLE rotation_participants (
    rotation_id text NOT NULL,
    position    int NOT NULL,
    user_id     text NOT NULL,
    PRIMARY KEY (rotation_id, position)
);
CREATE INDEX rotation_participants_user_idx ON rotation_participants (user_id);

CREATE TABLE schedules (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    time_zone     text NOT NULL,
    history_until timestamptz NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX schedules_name_idx ON schedules (lower(name));

-- A target exists through its rules: a user or rotation with none is not
-- on the schedule. Times of day are minutes after midnight in the
-- schedule's zone; weekdays start on Sunday.
CREATE TABLE schedule_rules (
    schedule_id  text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    position     int NOT NULL,
    id           text NOT NULL,
    start_minute int NOT NULL,
    end_minute   int NOT NULL,
    weekdays     boolean[] NOT NULL,
    PRIMARY KEY (schedule_id, target_type, target_id, position)
);
CREATE INDEX schedule_rules_target_idx ON schedule_rules (target_type, target_id);

CREATE TABLE schedule_overrides (
    id             text PRIMARY KEY,
    schedule_id    text NOT NULL,
    start_time     timestamptz NOT NULL,
    end_time       timestamptz NOT NULL,
    add_user_id    text NOT NULL DEFAULT '',
    remove_user_id text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL
);
CREATE INDEX schedule_overrides_schedule_idx ON schedule_overrides (schedule_id, end_time);
CREATE INDEX schedule_overrides_add_user_idx ON schedule_overrides (add_user_id) WHERE add_user_id <> '';
CREATE INDEX schedule_overrides_remove_user_idx ON schedule_overrides (remove_user_id) WHERE remove_user_id <> '';

-- shifts: [{"user_id", "start", "end"}].
CREATE TABLE schedule_temporary (
    schedule_id text NOT NULL,
    start_time  timestamptz NOT NULL,
    end_time    timestamptz NOT NULL,
    shifts      jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (schedule_id, start_time)
);

-- time_of_day NULL: notify on every change of who is on call.
CREATE TABLE schedule_oncall_notification_rules (
    schedule_id text NOT NULL,
    id          text NOT NULL,
    dest        jsonb NOT NULL,
    time_of_day text,
    weekdays    boolean[] NOT NULL,
    PRIMARY KEY (schedule_id, id)
);

CREATE TABLE calendar_subscriptions (
    id               text PRIMARY KEY,
    user_id          text NOT NULL,
    name             text NOT NULL,
    schedule_id      text NOT NULL DEFAULT '',
    full_schedule    boolean NOT NULL DEFAULT false,
    reminder_minutes int[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL
);
CREATE INDEX calendar_subscriptions_user_idx ON calendar_subscriptions (user_id);

-- Who was on call on each schedule and rotation: one row per continuous
-- span. end_time NULL: still on call at the subject's history_until, and
-- for as long after it as its definition says.
CREATE TABLE oncall_history (
    subject_type text NOT NULL, -- schedule or rotation
    subject_id   text NOT NULL,
    user_id      text NOT NULL,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz,
    PRIMARY KEY (subject_type, subject_id, user_id, start_time)
);
CREATE INDEX oncall_history_open_idx ON oncall_history (subject_type, subject_id) WHERE end_time IS NULL;
CREATE INDEX oncall_history_subject_time_idx ON oncall_history (subject_type, subject_id, start_time);
CREATE INDEX oncall_history_user_idx ON oncall_history (user_id, start_time);

---- create above / drop below ----

DROP TABLE oncall_history;
DROP TABLE calendar_subscriptions;
DROP TABLE schedule_oncall_notification_rules;
DROP TABLE schedule_temporary;
DROP TABLE schedule_overrides;
DROP TABLE schedule_rules;
DROP TABLE schedules;
DROP TABLE rotation_participants;
DROP TABLE rotations;
