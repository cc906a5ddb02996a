package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// userRow is the users table.
type userRow struct {
	ID          int64 `gorm:"primaryKey"`
	Username    string
	UsernameKey string
	// UsernameSkeleton is unique: see skeletonKey.
	UsernameSkeleton string
	Email            string
	FirstName        string
	LastName         string
	Role             string
	IsActive         bool
	PasswordHash     string
	TokenEpoch       int64
	AccountKey       string
	DateJoined       time.Time
	LastLogin        *time.Time
}

func (userRow) TableName() string { return "users" }

func (r *userRow) model() *models.User {
	u := &models.User{
		ID: r.ID, Username: r.Username, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		Role: r.Role, IsActive: r.IsActive, PasswordHash: r.PasswordHash, TokenEpoch: r.TokenEpoch,
		AccountKey: r.AccountKey, DateJoined: r.DateJoined.UTC(),
	}
	if r.LastLogin != nil {
		t := r.LastLogin.UTC()
		u.LastLogin = &t
	}
	return u
}

func rowOf(u *models.User) *userRow {
	return &userRow{
		ID: u.ID, Username: u.Username, UsernameKey: account.UsernameKey(u.Username), UsernameSkeleton: skeletonKey(u.Username), Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName, Role: u.Role, IsActive: u.IsActive,
		PasswordHash: u.PasswordHash, TokenEpoch: u.TokenEpoch, AccountKey: u.AccountKey, DateJoined: timestamp(u.DateJoined), LastLogin: u.LastLogin,
	}
}

// timestamp is t as stored: UTC, to the microsecond both databases keep.
func timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CreateUser stores a new user and returns it with its id and a new
// account key (whatever u.AccountKey says). DateJoined is set to now when
// zero. Returns EINVALID if the username, or one that looks like it, is
// taken.
func (s *Store) CreateUser(ctx context.Context, u *models.User) (*models.User, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	if u.DateJoined.IsZero() {
		u.DateJoined = time.Now()
	}
	row := rowOf(u)
	row.AccountKey = newAccountKey()
	if err := db.Create(row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, s.usernameConflict(ctx, u.Username)
		}
		return nil, dbError(err)
	}
	return row.model(), nil
}

// userColumns are the users table's columns that models.User holds, in
// scanUser's order.
const userColumns = `id, username, username_key, email, first_name, last_name, role,
	is_active, password_hash, token_epoch, account_key, date_joined, last_login`

// selectUsers reads whole users; a WHERE clause follows.
const selectUsers = `SELECT ` + userColumns + ` FROM users`

// scanUser scans a row of userColumns, and then into extra, if the query
// selects more. No row is gorm.ErrRecordNotFound, as from GORM.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (*models.User, error) {
	var r userRow
	err := row.Scan(append([]any{&r.ID, &r.Username, &r.UsernameKey, &r.Email, &r.FirstName, &r.LastName, &r.Role,
		&r.IsActive, &r.PasswordHash, &r.TokenEpoch, &r.AccountKey, &r.DateJoined, &r.LastLogin}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gorm.ErrRecordNotFound
	}
	if err != nil {
		return nil, err
	}
	return r.model(), nil
}

// queryUser runs a query of selectUsers on pool: GORM's connection pool
// (s.db.ConnPool) or a GORM transaction's (see txUser). It skips GORM's
// statement building and reflective scan: UserByID runs on every
// authenticated request that misses the user cache, and a profile of
// GET /me/ once put GORM at about 6% of the CPU.
func queryUser(ctx context.Context, pool gorm.ConnPool, query string, args ...any) (*models.User, error) {
	return scanUser(pool.QueryRowContext(ctx, query, args...))
}

// txUser is queryUser in the transaction tx.
func txUser(tx *gorm.DB, query string, args ...any) (*models.User, error) {
	return queryUser(tx.Statement.Context, tx.Statement.ConnPool, query, args...)
}

// UserByID returns the user with id, or ENOTFOUND.
func (s *Store) UserByID(ctx context.Context, id int64) (*models.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	u, err := queryUser(ctx, s.db.ConnPool, selectUsers+` WHERE id = $1`, id)
	return u, dbError(err)
}

// newAccountKey returns a new random account key: 130 bits, in base32.
func newAccountKey() string { return rand.Text() }

// UserByUsername returns the user whose username looks like username: the
// same name in any case, compatibility form or confusable characters, as
// usernames are unique by their skeleton. Returns ENOTFOUND if none does.
func (s *Store) UserByUsername(ctx context.Context, username string) (*models.User, error) {
	if matchesNothing(username) {
		return nil, dbError(gorm.ErrRecordNotFound)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	u, err := queryUser(ctx, s.db.ConnPool, selectUsers+` WHERE username_skeleton = $1`, skeletonKey(username))
	return u, dbError(err)
}

// matchesNothing reports whether a lookup or filter value holds a NUL
// byte, which no stored name, email or role does (each refuses control
// characters). PostgreSQL refuses NUL in any text it is sent, which would
// fail the query, and SQLite ends a LIKE pattern at one, which would match
// everything; on both, such a value finds nothing.
func matchesNothing(v string) bool { return strings.IndexByte(v, 0) >= 0 }

// ListUsers returns up to f.Limit users matching f, in ascending id order,
// starting after f.AfterID. The users carry no password hash: no listing
// needs one.
func (s *Store) ListUsers(ctx context.Context, f models.UserFilter) ([]*models.User, error) {
	if f.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	if matchesNothing(f.Search) || f.Role != nil && matchesNothing(*f.Role) {
		return []*models.User{}, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	query, args := listUsersQuery(f)
	// One backing array for the page, scanned into plain fields: a profile
	// of GET /v1/users?limit=100 once put GORM's reflective scan at 34% of
	// the CPU.
	backing := make([]models.User, 0, min(f.Limit, 1000))
	// Scanned into once per page, not per row: a scan target escapes.
	var u models.User
	var lastLogin sql.NullTime
	err := s.dialect.query(ctx, s.pool, stmt{sql: query, args: args, read: func(r rows) error {
		u.LastLogin = nil
		if err := r.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.IsActive,
			&u.TokenEpoch, &u.DateJoined, &lastLogin); err != nil {
			return err
		}
		u.DateJoined = u.DateJoined.UTC()
		if lastLogin.Valid {
			t := lastLogin.Time.UTC()
			u.LastLogin = &t
		}
		backing = append(backing, u)
		return nil
	}})
	if err != nil {
		return nil, dbError(err)
	}
	out := make([]*models.User, len(backing))
	for i := range backing {
		out[i] = &backing[i]
	}
	return out, nil
}

// listUsersQuery is ListUsers' query: the columns a listing shows (no
// password hash, no account key) of the users matching f, with their
// parameters.
func listUsersQuery(f models.UserFilter) (string, []any) {
	var q strings.Builder
	args := []any{f.AfterID}
	q.WriteString(`SELECT id, username, email, first_name, last_name, role, is_active, token_epoch,
		date_joined, last_login FROM users WHERE id > $1`)
	if f.Role != nil {
		args = append(args, *f.Role)
		fmt.Fprintf(&q, " AND role = $%d", len(args))
	}
	if f.IsActive != nil {
		args = append(args, *f.IsActive)
		fmt.Fprintf(&q, " AND is_active = $%d", len(args))
	}
	if f.Search != "" {
		args = append(args, searchPattern(f.Search))
		n := len(args)
		fmt.Fprintf(&q, ` AND (username_key LIKE $%d ESCAPE '\' OR LOWER(email) LIKE $%d ESCAPE '\')`, n, n)
	}
	args = append(args, f.Limit)
	fmt.Fprintf(&q, " ORDER BY id LIMIT $%d", len(args))
	return q.String(), args
}

// searchPattern is the LIKE pattern for a search: the normalized, lowered
// text anywhere in the value.
func searchPattern(search string) string {
	return "%" + escapeLike(strings.ToLower(account.NormalizeUsername(search))) + "%"
}

// escapeLike makes s match itself literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// errChangedSinceVerified refuses a login whose user changed between the
// password check and its record.
var errChangedSinceVerified = models.Errorf(models.ECONFLICT, "The account changed during the login; try again.")

// RecordLogin records a login of verified, the user as read when its
// password was checked: it sets last_login, and replaces the password
// hash with newHash when that is not "". Both are written only if the
// stored hash and token epoch are still verified's, so that a rehash
// derived from the old hash can never overwrite a password changed or
// reset meanwhile, and a login never outlives a concurrent deactivation.
// Returns ECONFLICT when they are not, or ENOTFOUND if the user is gone.
func (s *Store) RecordLogin(ctx context.Context, verified *models.User, at time.Time, newHash string) error {
	defer s.users.invalidate(verified.ID)
	cols := map[string]any{"last_login": timestamp(at)}
	if newHash != "" {
		cols["password_hash"] = newHash
	}
	// A transaction, so that the notification goes out with the commit.
	return dbError(s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ? AND password_hash = ? AND token_epoch = ?",
			verified.ID, verified.PasswordHash, verified.TokenEpoch).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return missingOrChanged(tx, verified.ID)
		}
		return s.notifyUsers(tx, verified.ID)
	}))
}

// missingOrChanged tells why a conditional write to user id matched no
// row: ENOTFOUND if the user is gone, else ECONFLICT.
func missingOrChanged(tx *gorm.DB, id int64) error {
	var n int64
	if err := tx.Model(&userRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return models.Errorf(models.ENOTFOUND, "Not found.")
	}
	return errChangedSinceVerified
}

// UpdateUser applies patch to user id and returns the user before and
// after, both as the write's transaction saw them. check, unless nil,
// decides on the user's row as locked, before anything is written; an
// error from it rolls the write back and is returned as it is. Only the
// columns whose values differ from the locked row are written. A patch
// that ends sessions advances the user's token epoch and revokes every
// session in the same transaction. Returns ENOTFOUND, EINVALID for a taken
// username (or one that looks like it), ECONFLICT when the patch would leave no active user holding
// a role in guard, or check's error.
func (s *Store) UpdateUser(ctx context.Context, id int64, patch models.UserPatch, guard models.AdminGuard, check models.UserCheck) (models.UserChange, error) {
	var change models.UserChange
	var checkErr error
	// Dropped after the commit (or the rollback): see userCache.
	defer s.users.invalidate(id)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if patch.TouchesAccess() {
			if err := s.lockAdmins(tx); err != nil {
				return err
			}
		}
		before, err := s.lockUser(tx, id)
		if err != nil {
			return err
		}
		if check != nil {
			if checkErr = check(before, patch); checkErr != nil {
				return checkErr
			}
		}
		after := copyUser(before)
		patch.Apply(after)
		if guard.Protects(before) && !guard.Protects(after) {
			if err := ensureAnotherAdmin(tx, guard, id); err != nil {
				return err
			}
		}
		cols := changedColumns(before, after)
		if patch.EndsSessions(before) {
			cols["token_epoch"] = gorm.Expr("token_epoch + 1")
			if err := revokeUserSessions(tx, id, "user_changed"); err != nil {
				return err
			}
		}
		if len(cols) > 0 {
			if err := tx.Model(&userRow{}).Where("id = ?", id).Updates(cols).Error; err != nil {
				if errors.Is(err, gorm.ErrDuplicatedKey) {
					return errUsernameTaken // refined after the rollback
				}
				return err
			}
		}
		after, err = txUser(tx, selectUsers+` WHERE id = $1`, id)
		if err != nil {
			return err
		}
		change = models.UserChange{Before: before, After: after}
		return s.notifyUsers(tx, id)
	})
	if checkErr != nil {
		return models.UserChange{}, checkErr
	}
	if errors.Is(err, errUsernameTaken) && patch.Username != nil {
		return models.UserChange{}, s.usernameConflict(ctx, *patch.Username)
	}
	if err != nil {
		return models.UserChange{}, dbError(err)
	}
	return change, nil
}

// DeleteUser deletes user id with their sessions, and remembers the id as
// a deleted user's (see ImportUsers). Returns ENOTFOUND, or ECONFLICT when
// id is the last active user holding a role in guard.
func (s *Store) DeleteUser(ctx context.Context, id int64, guard models.AdminGuard) error {
	defer s.users.invalidate(id)
	return dbError(s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockAdmins(tx); err != nil {
			return err
		}
		owned, err := s.lockOwnedTenants(tx, guard.TenantOwners, id, nil)
		if err != nil {
			return err
		}
		u, err := s.lockUser(tx, id)
		if err != nil {
			return err
		}
		if guard.Protects(u) {
			if err := ensureAnotherAdmin(tx, guard, id); err != nil {
				return err
			}
		}
		if err := s.keepTenantOwners(tx, guard.TenantOwners, id, owned); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&userRow{}).Error; err != nil {
			return err
		}
		if err := rememberDeleted(tx, id, time.Now()); err != nil {
			return err
		}
		return s.notifyUsers(tx, id)
	}))
}

// lockAdmins serializes every change that can remove an administrator, so
// that two admins removing each other at once cannot both succeed. On
// SQLite every write transaction is already serialized.
func (s *Store) lockAdmins(tx *gorm.DB) error { return s.dialect.lock(tx, adminLockID) }

const adminLockID = 0x726f6c6561646d6e // "roleadmn"

// lockUser reads user id and locks its row until tx ends.
func (s *Store) lockUser(tx *gorm.DB, id int64) (*models.User, error) {
	return txUser(tx, selectUsers+` WHERE id = $1`+s.dialect.forUpdate, id)
}

func ensureAnotherAdmin(tx *gorm.DB, guard models.AdminGuard, except int64) error {
	var n int64
	err := tx.Model(&userRow{}).Where("is_active = ? AND role IN ? AND id <> ?", true, guard.Roles, except).Count(&n).Error
	if err != nil {
		return err
	}
	if n == 0 {
		return models.Errorf(models.ECONFLICT, "This is the last active user who can manage roles; it cannot be deleted, deactivated or demoted.")
	}
	return nil
}

// changedColumns lists the columns whose values differ between two states
// of a user.
func changedColumns(before, after *models.User) map[string]any {
	cols := map[string]any{}
	if after.Username != before.Username {
		cols["username"] = after.Username
		cols["username_key"] = account.UsernameKey(after.Username)
		cols["username_skeleton"] = skeletonKey(after.Username)
	}
	for col, pair := range map[string][2]string{
		"email":         {before.Email, after.Email},
		"first_name":    {before.FirstName, after.FirstName},
		"last_name":     {before.LastName, after.LastName},
		"role":          {before.Role, after.Role},
		"password_hash": {before.PasswordHash, after.PasswordHash},
	} {
		if pair[0] != pair[1] {
			cols[col] = pair[1]
		}
	}
	if after.IsActive != before.IsActive {
		cols["is_active"] = after.IsActive
	}
	return cols
}

// rememberDeleted records id as a deleted user's.
func rememberDeleted(tx *gorm.DB, id int64, at time.Time) error {
	return tx.Exec(`INSERT INTO deleted_user_ids (id, deleted_at) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at`, id, timestamp(at)).Error
}

// hashKindSQL is the part of a stored password hash before its last two
// $-separated fields (salt and key): its algorithm and parameters, such as
// "pbkdf2_sha256$870000$" or "$argon2id$v=19$m=19456,t=2,p=1$". rtrim with
// the hash's own characters but "$" strips up to the last "$"; the same
// expression runs on SQLite and PostgreSQL.
const hashKindSQL = `rtrim(rtrim(rtrim(password_hash, replace(password_hash, '$', '')), '$'), replace(password_hash, '$', ''))`

// PasswordHashSamples returns one stored password hash of each kind
// (algorithm and parameters), at most limit of them, so that the hasher
// can learn what each kind costs to check. It reads the whole table once.
func (s *Store) PasswordHashSamples(ctx context.Context, limit int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, max(BulkTimeout, s.opTimeout))
	defer cancel()
	var out []string
	err := s.db.WithContext(ctx).Raw(`SELECT MIN(password_hash) FROM users GROUP BY `+hashKindSQL+` ORDER BY 1 LIMIT ?`, limit).Scan(&out).Error
	if err != nil {
		return nil, dbError(err)
	}
	return out, nil
}
