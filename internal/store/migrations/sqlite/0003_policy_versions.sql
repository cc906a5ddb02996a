-- +goose Up
-- Published policies, for ROLEGATE_POLICY_SOURCE=database. Rows are never
-- changed: the highest id is the policy in force, and a rollback inserts
-- an older row's text again, so the table is also the history.
CREATE TABLE policy_versions (
    -- AUTOINCREMENT: ids only grow, even after the newest row is deleted
    -- by hand, so "highest id" always means "published last".
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- sha256 of the model, the policy and the route table; the same
    -- version appears again after a rollback.
    version      TEXT NOT NULL,
    model        TEXT NOT NULL,
    policy       TEXT NOT NULL,
    routes       TEXT NOT NULL DEFAULT '',
    tests        TEXT NOT NULL DEFAULT '',
    published_at DATETIME NOT NULL,
    published_by TEXT NOT NULL DEFAULT '',
    comment      TEXT NOT NULL DEFAULT ''
);
-- "rolegate policy rollback" finds a version by a prefix of its hash.
CREATE INDEX policy_versions_version ON policy_versions (version);

-- +goose Down
DROP TABLE policy_versions;
