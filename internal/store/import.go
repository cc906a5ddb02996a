package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// ImportResult says what ImportUsers did with one user.
type ImportResult int

const (
	// Imported means the user was inserted with the id it carried.
	Imported ImportResult = iota
	// Unchanged means a user with the same id and username was already
	// stored. It was left as it is: an import never changes a user.
	Unchanged
	// Conflicted means the id or the username belongs to another user, so
	// nothing was written. Reason says which.
	Conflicted
	// Revived means the user was inserted with the id it carried, which
	// belonged to a user deleted before. The new row has an account key
	// of its own, so no token issued to the deleted user is accepted for
	// it. Reason says so.
	Revived
)

// ImportOutcome is what became of one user offered to ImportUsers.
type ImportOutcome struct {
	Result ImportResult
	Reason string
}

// importColumns are the columns ImportUsers writes, in the order userArgs
// lists their values.
var importColumns = []string{
	"id", "username", "username_key", "username_skeleton", "email", "first_name", "last_name",
	"role", "is_active", "password_hash", "token_epoch", "account_key", "date_joined", "last_login",
}

// BulkTimeout bounds one batch of ImportUsers. A batch writes a thousand
// rows, which on a busy host takes longer than a request's operation
// timeout allows; it is an operator's command, not a request, so it may
// wait longer.
const BulkTimeout = time.Minute

// ImportUsers stores users that keep the ids they carry, such as users
// exported from another system, in one transaction, and returns one outcome
// per user in order. A user whose username (compared case-insensitively)
// and id are already stored together is Unchanged; one whose id or
// username belongs to another user is Conflicted; the rest are inserted
// with multi-row INSERTs, each with a new account key, and are Imported,
// or Revived when their id is a deleted user's. Afterwards new users get
// ids above every stored one. The caller validates the users, and keeps batches to a few
// thousand: the transaction must end within BulkTimeout.
// Returns EUNAVAILABLE if the database fails.
func (s *Store) ImportUsers(ctx context.Context, users []*models.User) ([]ImportOutcome, error) {
	out := make([]ImportOutcome, len(users))
	ctx, cancel := context.WithTimeout(ctx, max(BulkTimeout, s.opTimeout))
	defer cancel()
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	// An import only inserts, and CurrentUser never caches a missing
	// user, so nothing cached can be stale; the ids are dropped anyway,
	// here and on every replica, so that stays true if either changes.
	defer s.users.invalidate(ids...)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		known, err := storedIdentities(tx, users)
		if err != nil {
			return err
		}
		fresh := classify(users, known, out)
		if len(fresh) == 0 {
			return nil
		}
		if err := s.advanceUserIDs(tx, users, fresh); err != nil {
			return err
		}
		inserted, err := insertUsers(tx, users, fresh)
		if err != nil {
			return err
		}
		if err := s.notifyUsers(tx, slices.Sorted(maps.Keys(inserted))...); err != nil {
			return err
		}
		for _, i := range fresh {
			if inserted[users[i].ID] && known.deleted[users[i].ID] {
				out[i] = ImportOutcome{Revived, fmt.Sprintf("id %d belonged to a deleted user; the imported user is a new account, and the deleted user's tokens stay refused", users[i].ID)}
			}
			if !inserted[users[i].ID] {
				// Another writer took the id or username since the lookup.
				out[i] = ImportOutcome{Conflicted, "a user with this id or username was created during the import"}
			}
		}
		return nil
	})
	if err != nil {
		return nil, dbError(err)
	}
	return out, nil
}

// identities are the stored users that share an id or a username
// skeleton with a batch, and the batch's ids that were deleted users'.
type identities struct {
	byID       map[int64]string // id → username
	bySkeleton map[string]int64 // username skeleton key → id
	deleted    map[int64]bool
}

// storedIdentities looks the batch's ids and username skeletons up. Both
// databases answer the OR from the two unique indexes, and the deleted ids
// from their primary key.
func storedIdentities(tx *gorm.DB, users []*models.User) (identities, error) {
	ids := make([]int64, len(users))
	keys := make([]string, len(users))
	for i, u := range users {
		ids[i], keys[i] = u.ID, skeletonKey(u.Username)
	}
	var rows []userRow
	err := tx.Select("id", "username", "username_skeleton").Where("id IN ? OR username_skeleton IN ?", ids, keys).Find(&rows).Error
	if err != nil {
		return identities{}, err
	}
	var deleted []int64
	if err := tx.Table("deleted_user_ids").Where("id IN ?", ids).Pluck("id", &deleted).Error; err != nil {
		return identities{}, err
	}
	known := identities{byID: make(map[int64]string, len(rows)), bySkeleton: make(map[string]int64, len(rows)), deleted: make(map[int64]bool, len(deleted))}
	for _, r := range rows {
		known.byID[r.ID] = r.Username
		known.bySkeleton[r.UsernameSkeleton] = r.ID
	}
	for _, id := range deleted {
		known.deleted[id] = true
	}
	return known, nil
}

// classify fills out for every user that is already stored or conflicts,
// and returns the indexes of the users to insert. A user repeating the id
// or username (or a username that looks the same) of an earlier one in the
// batch conflicts with it.
func classify(users []*models.User, known identities, out []ImportOutcome) []int {
	var fresh []int
	for i, u := range users {
		key := skeletonKey(u.Username)
		id, keyTaken := known.bySkeleton[key]
		name, idTaken := known.byID[u.ID]
		switch {
		case keyTaken && id == u.ID:
			out[i] = ImportOutcome{Result: Unchanged}
		case keyTaken:
			out[i] = ImportOutcome{Conflicted, usernameTakenBy(u.Username, id, known.byID[id])}
		case idTaken:
			out[i] = ImportOutcome{Conflicted, fmt.Sprintf("id %d belongs to user %q", u.ID, name)}
		default:
			out[i] = ImportOutcome{Result: Imported}
			fresh = append(fresh, i)
			known.bySkeleton[key], known.byID[u.ID] = u.ID, u.Username
		}
	}
	return fresh
}

// usernameTakenBy says why username conflicts with user id's name.
func usernameTakenBy(username string, id int64, holder string) string {
	if account.UsernameKey(holder) == account.UsernameKey(username) {
		return fmt.Sprintf("username %q belongs to user %d", username, id)
	}
	return fmt.Sprintf("username %q looks like user %d's username %q", username, id, holder)
}

// insertChunk is how many users one INSERT statement carries. Bigger
// statements are slower, not faster: glebarez/go-sqlite binds parameters
// in time that grows with the square of their number, and each distinct
// statement is parsed and planned anew. A transaction runs several.
const insertChunk = 100

// insertUsers inserts users[i] for each i in which, skipping any that
// collide with a row written since the lookup, and returns the ids it
// inserted.
func insertUsers(tx *gorm.DB, users []*models.User, which []int) (map[int64]bool, error) {
	inserted := make(map[int64]bool, len(which))
	for len(which) > 0 {
		n := min(insertChunk, len(which))
		if err := insertChunkOf(tx, users, which[:n], inserted); err != nil {
			return nil, err
		}
		which = which[n:]
	}
	return inserted, nil
}

// insertChunkOf runs one multi-row INSERT and adds the ids that went in
// to inserted.
func insertChunkOf(tx *gorm.DB, users []*models.User, which []int, inserted map[int64]bool) error {
	args := make([]any, 0, len(which)*len(importColumns))
	for _, i := range which {
		args = append(args, userArgs(users[i])...)
	}
	rows, err := tx.Raw(insertSQL(len(which)), args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		inserted[id] = true
	}
	return rows.Err()
}

// insertSQL is a multi-row INSERT of n users. ON CONFLICT DO NOTHING with
// RETURNING reports which rows went in, on PostgreSQL and SQLite alike.
func insertSQL(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(importColumns)), ",") + ")"
	var b strings.Builder
	b.Grow(n*(len(row)+1) + 200)
	b.WriteString("INSERT INTO users (" + strings.Join(importColumns, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT DO NOTHING RETURNING id")
	return b.String()
}

// userArgs are the values of u's columns, with a new account key: an
// imported user is a new account here, whatever it was elsewhere.
func userArgs(u *models.User) []any {
	r := rowOf(u)
	var lastLogin *time.Time
	if r.LastLogin != nil {
		t := timestamp(*r.LastLogin)
		lastLogin = &t
	}
	return []any{
		r.ID, r.Username, r.UsernameKey, r.UsernameSkeleton, r.Email, r.FirstName, r.LastName,
		r.Role, r.IsActive, r.PasswordHash, r.TokenEpoch, newAccountKey(), r.DateJoined, lastLogin,
	}
}

// advanceUserIDs moves the users id sequence past the largest id about
// to be inserted. It runs before the insert because setval takes effect at
// once, outside the transaction, so that a row created during the import
// cannot draw an id the import is writing; a deleted row's id is never
// given out again.
func (s *Store) advanceUserIDs(tx *gorm.DB, users []*models.User, which []int) error {
	var top int64
	for _, i := range which {
		top = max(top, users[i].ID)
	}
	return s.dialect.advanceIDs(tx, "users", top)
}
