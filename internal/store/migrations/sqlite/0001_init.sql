-- +goose Up
-- Accounts, login sessions and their refresh tokens.
CREATE TABLE users (
    -- AUTOINCREMENT: a deleted user's id is never given to a new user, so
    -- a token that outlives its user cannot pass as someone else.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      VARCHAR(150) NOT NULL,
    -- username_key is the normalized, lower-cased username: uniqueness is
    -- case-insensitive.
    username_key  VARCHAR(600) NOT NULL,
    email         VARCHAR(254) NOT NULL DEFAULT '',
    first_name    VARCHAR(150) NOT NULL DEFAULT '',
    last_name     VARCHAR(150) NOT NULL DEFAULT '',
    role          VARCHAR(64)  NOT NULL,
    is_active     BOOLEAN      NOT NULL DEFAULT TRUE,
    password_hash VARCHAR(255) NOT NULL,
    token_epoch   BIGINT       NOT NULL DEFAULT 0,
    date_joined   DATETIME     NOT NULL,
    last_login    DATETIME
);
CREATE UNIQUE INDEX users_username_key ON users (username_key);
CREATE INDEX users_role_id ON users (role, id);
CREATE INDEX users_is_active_id ON users (is_active, id);

CREATE TABLE sessions (
    id            VARCHAR(64) PRIMARY KEY,
    user_id       INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    DATETIME    NOT NULL,
    revoked_at    DATETIME,
    revoke_reason VARCHAR(32) NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Only a hash of each refresh token's id is stored.
CREATE TABLE refresh_tokens (
    hash       CHAR(64)    PRIMARY KEY,
    session_id VARCHAR(64) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at DATETIME    NOT NULL,
    used_at    DATETIME
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
