DROP INDEX users_last_login_id;
DROP INDEX users_date_joined_id;
DROP TABLE console_sessions;
