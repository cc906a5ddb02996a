ALTER TABLE user_groups DROP COLUMN added_by;
