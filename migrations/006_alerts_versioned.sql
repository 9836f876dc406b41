-- The alerts projection guards idempotence with the stream version in its
-- own rows instead of projection_stream_versions: one write fewer per
-- alert event, and the log's (alert, version) key replaces its index.
ALTER TABLE alerts ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE alert_log ADD COLUMN stream_version bigint NOT NULL DEFAULT 0;
DROP INDEX alert_log_alert_idx;
CREATE UNIQUE INDEX alert_log_alert_version_idx ON alert_log (alert_id, stream_version);
DELETE FROM projection_stream_versions WHERE projection = 'alerts';
-- Existing rows predate the version columns: rebuild the model from the log.
DELETE FROM projection_offsets WHERE consumer_group = 'projection.alerts';
TRUNCATE alerts, alert_log;

---- create above / drop below ----

DROP INDEX alert_log_alert_version_idx;
CREATE INDEX alert_log_alert_idx ON alert_log (alert_id, id);
ALTER TABLE alert_log DROP COLUMN stream_version;
ALTER TABLE alerts DROP COLUMN version;
DELETE FROM projection_offsets WHERE consumer_group = 'projection.alerts';
TRUNCATE alerts, alert_log;
