-- Usernames are unique by how they look, not only by their letters: "аdmin"
-- with a Cyrillic "а" must not sit beside "admin". username_skeleton is the
-- SHA-256, in hex, of the UTS #39 confusable skeleton of the NFKC,
-- case-folded username (account.UsernameSkeleton); a hash, because a
-- skeleton can be twenty times longer than its name, past what an index
-- row holds. SQL cannot compute a skeleton: after this file, Go fills the
-- column for every user, stops the upgrade if two users' names look alike,
-- and adds the unique index (see fillUsernameSkeletons in store/migrate.go).
ALTER TABLE users ADD COLUMN username_skeleton CHAR(64) NOT NULL DEFAULT '';
