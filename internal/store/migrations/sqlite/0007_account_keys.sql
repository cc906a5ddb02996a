-- +goose Up
-- Every token names the account it was issued for by account_key, a random
-- value set when the row is created or imported, so that a row created
-- again under a deleted user's id never accepts that user's tokens.
-- SQLite cannot add a column with a computed default, so existing rows are
-- filled by an UPDATE, and rows inserted without a key (by an older
-- binary, or by hand) get one from a trigger; rolegate sets the key
-- itself. users.id is AUTOINCREMENT since 0001, so the id sequence never
-- goes back.
ALTER TABLE users ADD COLUMN account_key VARCHAR(64) NOT NULL DEFAULT '';
UPDATE users SET account_key = lower(hex(randomblob(16)));
CREATE TRIGGER users_account_key AFTER INSERT ON users FOR EACH ROW WHEN NEW.account_key = '' BEGIN UPDATE users SET account_key = lower(hex(randomblob(16))) WHERE id = NEW.id; END;

-- The ids of deleted users, so that an import that brings one back can
-- say so.
CREATE TABLE deleted_user_ids (
    id         INTEGER  PRIMARY KEY,
    deleted_at DATETIME NOT NULL
);

-- Refresh tokens issued before this migration were JWTs; from now on they
-- are opaque, and access tokens need the account key. The sessions those
-- tokens belong to end here, marked so that the down migration can
-- reopen them for the previous binary.
UPDATE sessions SET revoked_at = strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'), revoke_reason = 'upgrade_0007' WHERE revoked_at IS NULL;

-- +goose Down
UPDATE sessions SET revoked_at = NULL, revoke_reason = '' WHERE revoke_reason = 'upgrade_0007';
DROP TABLE deleted_user_ids;
DROP TRIGGER users_account_key;
ALTER TABLE users DROP COLUMN account_key;
