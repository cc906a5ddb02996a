-- +goose Up
-- Each server in database mode reports the policy version it serves: at
-- startup, on every reload, and once a minute while it runs, so that the
-- staff console's dashboard can list the replicas seen lately and the
-- version each serves. Reports older than a day are pruned on write.
CREATE TABLE policy_replicas (
    instance_id VARCHAR(200) PRIMARY KEY,
    version     VARCHAR(64)  NOT NULL,
    loaded_at   TIMESTAMPTZ NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX policy_replicas_seen_at ON policy_replicas (seen_at);

-- +goose Down
DROP TABLE policy_replicas;
