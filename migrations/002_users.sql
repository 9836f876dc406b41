-- Read model: users and their basic-auth logins (projection "users").
CREATE TABLE users (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL DEFAULT '',
    role       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE user_basic_auth (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL
);

---- create above / drop below ----

DROP TABLE user_basic_auth;
DROP TABLE users;
