-- Write-side record of sessions, written in the same transaction as their
-- events, so a sign-out takes effect on the next request.
CREATE TABLE auth_sessions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL,
    ended_at   timestamptz
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

---- create above / drop below ----

DROP TABLE auth_sessions;
