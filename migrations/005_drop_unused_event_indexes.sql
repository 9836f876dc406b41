-- Every reader orders by the primary key (transaction_id, global_position)
-- or reads a stream by (stream_id, stream_version); these two indexes were
-- written on every append and read by nothing.
DROP INDEX events_global_position_idx;
DROP INDEX events_occurred_at_idx;

---- create above / drop below ----

CREATE INDEX events_global_position_idx ON events (global_position);
CREATE INDEX events_occurred_at_idx ON events (occurred_at);
