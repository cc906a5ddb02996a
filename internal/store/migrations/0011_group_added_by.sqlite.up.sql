-- Who added each user to their group, shown as a group member's invited_by
-- like a tenant member's; NULL for rows added before it was kept.
ALTER TABLE user_groups ADD COLUMN added_by BIGINT;
