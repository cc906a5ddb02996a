-- +goose Up
-- The audit trail. Events outlive the users they name, so actor_id has no
-- foreign key.
CREATE TABLE audit_events (
    -- AUTOINCREMENT: ids only grow, so a cursor never skips an event.
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             DATETIME NOT NULL,
    actor_id       INTEGER,
    actor_role     TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL,
    target         TEXT NOT NULL DEFAULT '',
    result         TEXT NOT NULL,
    rule           TEXT NOT NULL DEFAULT '',
    policy_version TEXT NOT NULL DEFAULT '',
    request_id     TEXT NOT NULL DEFAULT '',
    client_ip      TEXT NOT NULL DEFAULT '',
    -- detail is a small JSON object.
    detail         TEXT NOT NULL DEFAULT '{}'
);
-- GET /v1/audit pages by id, newest first, filtered by actor, action and
-- time.
CREATE INDEX audit_events_actor_id_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_action_id ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose Down
DROP TABLE audit_events;
