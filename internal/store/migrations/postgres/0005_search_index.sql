-- +goose Up
-- GET /v1/users?search= matches a case-insensitive substring of the
-- username or the email: username_key LIKE '%s%' OR LOWER(email) LIKE
-- '%s%'. A B-tree cannot serve a leading wildcard, so at a million users a
-- search that matches few rows read the whole table. Trigram GIN indexes on
-- exactly those two expressions serve both LIKEs (for 3 or more characters).
--
-- The extension lives in one schema per database (public when this
-- creates it), which need not be on the search_path of the schema being
-- migrated, so the operator class is named with the extension's schema.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
-- +goose StatementBegin
DO $$
DECLARE
	s text;
BEGIN
	SELECT n.nspname INTO s
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pg_trgm';
	EXECUTE format('CREATE INDEX users_username_key_trgm ON users USING gin (username_key %I.gin_trgm_ops)', s);
	EXECUTE format('CREATE INDEX users_email_lower_trgm ON users USING gin (LOWER(email) %I.gin_trgm_ops)', s);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS users_email_lower_trgm;
DROP INDEX IF EXISTS users_username_key_trgm;
