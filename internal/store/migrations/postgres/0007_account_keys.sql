-- +goose Up
-- Every token names the account it was issued for by account_key, a random
-- value set when the row is created or imported, so that a row created
-- again under a deleted user's id never accepts that user's tokens. The
-- default fills existing rows (each its own value: the default is
-- volatile, so PostgreSQL rewrites the table once) and rows that an
-- older binary inserts during a rolling upgrade; rolegate sets the key
-- itself.
ALTER TABLE users ADD COLUMN account_key VARCHAR(64) NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '');

-- The ids of deleted users, so that an import that brings one back can
-- say so. The id sequence itself never goes back.
CREATE TABLE deleted_user_ids (
    id         BIGINT      PRIMARY KEY,
    deleted_at TIMESTAMPTZ NOT NULL
);

-- Refresh tokens issued before this migration were JWTs; from now on they
-- are opaque, and access tokens need the account key. The sessions those
-- tokens belong to end here, marked so that the down migration can
-- reopen them for the previous binary.
UPDATE sessions SET revoked_at = now(), revoke_reason = 'upgrade_0007' WHERE revoked_at IS NULL;

-- +goose Down
UPDATE sessions SET revoked_at = NULL, revoke_reason = '' WHERE revoke_reason = 'upgrade_0007';
DROP TABLE deleted_user_ids;
ALTER TABLE users DROP COLUMN account_key;
