-- Where each on-call notification rule stands (write side of the paging
-- engine): who it last reported and when it is next due. Rules themselves
-- come from the oncall read model.
CREATE TABLE oncall_notify_state (
    rule_id     text PRIMARY KEY,
    schedule_id text NOT NULL,
    last_users  text[],
    next_at     timestamptz NOT NULL
);
CREATE INDEX oncall_notify_state_due_idx ON oncall_notify_state (next_at);

---- create above / drop below ----

DROP TABLE oncall_notify_state;
