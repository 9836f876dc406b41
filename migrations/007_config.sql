-- Admin config values that an admin has set (write side, like
-- system_limits): written in the same transaction as their
-- config.value_set events, and read by every instance every half second.
-- Unset ids are at their defaults. A row with encrypted = true holds a
-- secret sealed by the data-encryption keyring, never the secret itself.
CREATE TABLE config_values (
    id        text PRIMARY KEY,
    value     text NOT NULL,
    encrypted boolean NOT NULL DEFAULT false
);

---- create above / drop below ----

DROP TABLE config_values;
