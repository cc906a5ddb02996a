-- +goose Up
-- Staff console sign-ins (issue 13). Only a SHA-256 of the session id is
-- stored, so a copy of the table cannot sign anyone in. The CSRF secret is
-- the session's own: a token made from it is worthless in another session.
CREATE TABLE console_sessions (
    id_hash      CHAR(64)    PRIMARY KEY,
    user_id      INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_secret  CHAR(64)    NOT NULL,
    created_at   DATETIME    NOT NULL,
    last_seen_at DATETIME    NOT NULL,
    expires_at   DATETIME    NOT NULL,
    revoked_at   DATETIME
);
-- A user's sessions, for the detail page and "end all sessions".
CREATE INDEX console_sessions_user_id ON console_sessions (user_id);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- The console's user list sorts by date joined and by last login, with the
-- id breaking ties, a page at a time (keyset paging).
CREATE INDEX users_date_joined_id ON users (date_joined, id);
CREATE INDEX users_last_login_id ON users (last_login, id);

-- +goose Down
DROP INDEX users_last_login_id;
DROP INDEX users_date_joined_id;
DROP TABLE console_sessions;
