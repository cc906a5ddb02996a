package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// skeletonKey is the username_skeleton column of a username: the SHA-256
// of its confusable skeleton, in hex.
func skeletonKey(username string) string {
	sum := sha256.Sum256([]byte(account.UsernameSkeleton(username)))
	return hex.EncodeToString(sum[:])
}

var (
	errUsernameTaken     = models.FieldError("username", "A user with that username already exists.")
	errUsernameLookalike = models.FieldError("username", "A user with a username that looks the same already exists.")
)

// usernameConflict says why username could not be stored: taken as it is
// spelled (Django's message), or taken by a name that only looks like it.
// It reads after the failed write, to choose the message only: the unique
// index has already decided.
func (s *Store) usernameConflict(ctx context.Context, username string) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	var keys []string
	err := db.Model(&userRow{}).Where("username_skeleton = ?", skeletonKey(username)).Limit(1).Pluck("username_key", &keys).Error
	if err == nil && len(keys) == 1 && keys[0] != account.UsernameKey(username) {
		return errUsernameLookalike
	}
	return errUsernameTaken
}

// usernameSkeletonID is migration 0008, which is Go.
const usernameSkeletonID = "0008_username_skeleton"

// usernameSkeletonMigration is migration 0008. Usernames are unique by
// how they look, not only by their letters: "аdmin" with a Cyrillic "а"
// must not sit beside "admin". username_skeleton is the SHA-256, in hex,
// of the UTS #39 confusable skeleton of the NFKC, case-folded username
// (account.UsernameSkeleton); a hash, because a skeleton can be twenty
// times longer than its name, past what an index row holds. SQL cannot
// compute a skeleton, so the migration is Go: it adds the column, fills it
// for every user, stops the upgrade if two users' names look alike, and
// adds the unique index, in goose's transaction.
func (s *Store) usernameSkeletonMigration() *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		db := s.inTx(ctx, tx)
		if err := db.Exec(`ALTER TABLE users ADD COLUMN username_skeleton CHAR(64) NOT NULL DEFAULT ''`).Error; err != nil {
			return err
		}
		return fillUsernameSkeletons(db)
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DROP INDEX users_username_skeleton`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `ALTER TABLE users DROP COLUMN username_skeleton`)
		return err
	}
	return goose.NewGoMigration(8, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}

// inTx is a GORM session on tx, a transaction goose began.
func (s *Store) inTx(ctx context.Context, tx *sql.Tx) *gorm.DB {
	db := s.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	db.Statement.ConnPool = tx
	return db
}

// skeletonBatch is how many users one statement of fillUsernameSkeletons
// updates.
const skeletonBatch = 500

// fillUsernameSkeletons sets every user's username_skeleton and then makes
// it unique. If two users' names look alike, it stops the migration with
// an error naming them all, and the transaction leaves the database as it
// was: which of them keeps the name is the operator's decision, not the
// upgrade's.
func fillUsernameSkeletons(tx *gorm.DB) error {
	for after := int64(0); ; {
		var rows []userRow
		if err := tx.Select("id", "username").Where("id > ?", after).Order("id").Limit(skeletonBatch).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		if err := setSkeletons(tx, rows); err != nil {
			return err
		}
		after = rows[len(rows)-1].ID
	}
	if err := lookalikeUsers(tx); err != nil {
		return err
	}
	return tx.Exec("CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton)").Error
}

// setSkeletons writes the skeleton keys of rows in one UPDATE.
func setSkeletons(tx *gorm.DB, rows []userRow) error {
	var sql strings.Builder
	args := make([]any, 0, 3*len(rows))
	ids := make([]int64, len(rows))
	sql.WriteString("UPDATE users SET username_skeleton = CASE id")
	for i, r := range rows {
		sql.WriteString(" WHEN ? THEN ?")
		args = append(args, r.ID, skeletonKey(r.Username))
		ids[i] = r.ID
	}
	sql.WriteString(" END WHERE id IN ?")
	return tx.Exec(sql.String(), append(args, ids)...).Error
}

// maxLookalikeGroups bounds how many groups the upgrade's error names.
const maxLookalikeGroups = 50

// lookalikeUsers returns an error naming the users whose skeletons
// collide, or nil.
func lookalikeUsers(tx *gorm.DB) error {
	var keys []string
	err := tx.Model(&userRow{}).Select("username_skeleton").Group("username_skeleton").
		Having("COUNT(*) > 1").Order("username_skeleton").Limit(maxLookalikeGroups).Pluck("username_skeleton", &keys).Error
	if err != nil || len(keys) == 0 {
		return err
	}
	var rows []userRow
	if err := tx.Select("id", "username", "username_skeleton").Where("username_skeleton IN ?", keys).Order("id").Find(&rows).Error; err != nil {
		return err
	}
	groups := map[string][]string{}
	for _, r := range rows {
		groups[r.UsernameSkeleton] = append(groups[r.UsernameSkeleton], fmt.Sprintf("%d %q", r.ID, r.Username))
	}
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		lines = append(lines, "  "+strings.Join(groups[k], ", "))
	}
	return fmt.Errorf("usernames must now differ in how they look, and these users' names look alike (id and username; at most %d groups shown):\n%s\n"+
		"rename all but one user of each group with the release you are upgrading from (PATCH /v1/users/{id} with a new \"username\"), then upgrade again; nothing was changed",
		maxLookalikeGroups, strings.Join(lines, "\n"))
}
