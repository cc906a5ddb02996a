-- +goose Up
-- Counters of failed logins and of signups, per account and per client
-- address, shared by every replica. Times are Unix milliseconds, so that
-- one UPSERT can do the window's arithmetic the same way on both
-- databases.
CREATE TABLE login_throttle (
    -- kind is what name counts: "login_account" (name is the sha256 of the
    -- normalized username, whether or not the account exists),
    -- "login_ip" or "signup_ip" (name is the client address or IPv6 /64).
    kind             TEXT   NOT NULL,
    name             TEXT   NOT NULL,
    failures         INTEGER NOT NULL,
    window_start_ms  INTEGER NOT NULL,
    -- delay_ms is the current lockout, doubled by each failure past the
    -- limit up to the window; 0 below the limit.
    delay_ms         INTEGER NOT NULL,
    blocked_until_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
-- The purge deletes rows whose window and lockout are over.
CREATE INDEX login_throttle_window_start ON login_throttle (window_start_ms);

-- +goose Down
DROP TABLE login_throttle;
