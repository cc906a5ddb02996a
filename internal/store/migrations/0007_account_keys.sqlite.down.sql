UPDATE sessions SET revoked_at = NULL, revoke_reason = '' WHERE revoke_reason = 'upgrade_0007';
DROP TABLE deleted_user_ids;
DROP TRIGGER users_account_key;
ALTER TABLE users DROP COLUMN account_key;
