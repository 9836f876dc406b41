-- SMS reply codes of service bundles ('<N>aa', '<N>cc'), from 100: a row
-- names a service instead of an alert.
ALTER TABLE sms_reply_codes ALTER COLUMN alert_id DROP NOT NULL;
ALTER TABLE sms_reply_codes ADD COLUMN service_id uuid;
ALTER TABLE sms_reply_codes ADD CONSTRAINT sms_reply_codes_phone_service_key UNIQUE (phone, service_id);

---- create above / drop below ----

DELETE FROM sms_reply_codes WHERE alert_id IS NULL;
ALTER TABLE sms_reply_codes DROP CONSTRAINT sms_reply_codes_phone_service_key;
ALTER TABLE sms_reply_codes DROP COLUMN service_id;
ALTER TABLE sms_reply_codes ALTER COLUMN alert_id SET NOT NULL;
