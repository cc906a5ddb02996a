DROP INDEX IF EXISTS users_email_lower_trgm;
DROP INDEX IF EXISTS users_username_key_trgm;
