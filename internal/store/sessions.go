package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

type sessionRow struct {
	ID           string `gorm:"primaryKey"`
	UserID       int64
	CreatedAt    time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

func (sessionRow) TableName() string { return "sessions" }

type refreshTokenRow struct {
	Hash      string `gorm:"primaryKey"`
	SessionID string
	ExpiresAt time.Time
	UsedAt    *time.Time
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

// errRefused refuses a refresh token or a session that cannot be used;
// auth says so to clients in its own words.
func errRefused(cause error) *models.Error {
	return &models.Error{Code: models.EUNAUTHORIZED, Message: "Refresh token refused.", Err: cause}
}

var (
	errUnknownToken   = errors.New("unknown refresh token")
	errExpiredToken   = errors.New("expired refresh token")
	errSessionRevoked = errors.New("session revoked")
	errUserInactive   = errors.New("user inactive")
)

// CreateSession stores a new session and its first refresh token.
func (s *Store) CreateSession(ctx context.Context, sess models.Session, first models.RefreshToken) error {
	return dbError(s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&sessionRow{ID: sess.ID, UserID: sess.UserID, CreatedAt: timestamp(sess.CreatedAt)}).Error; err != nil {
			if errors.Is(err, gorm.ErrForeignKeyViolated) {
				return errRefused(errUserInactive)
			}
			return err
		}
		return tx.Create(tokenRow(first)).Error
	}))
}

func tokenRow(t models.RefreshToken) *refreshTokenRow {
	return &refreshTokenRow{Hash: t.Hash, SessionID: t.SessionID, ExpiresAt: timestamp(t.ExpiresAt)}
}

// RotateRefreshToken spends the token with hash oldHash and stores next in
// the same session (next.SessionID is not read), in one transaction, and
// returns the session's user.
//
// The spend is one conditional UPDATE (spendSQL), so of any number of
// concurrent refreshes with one token exactly one succeeds. A token that
// was already spent revokes its session (committed even though the
// refresh fails) and returns a *models.RefreshReusedError naming the
// session's user, which wraps models.ErrRefreshReused and an
// EUNAUTHORIZED error. Any other token that cannot be spent is
// EUNAUTHORIZED, and changes nothing.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next models.RefreshToken, now time.Time) (*models.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	at := timestamp(now)
	var spent bool
	var user *models.User
	err := s.dialect.atomically(ctx, s.pool,
		stmt{sql: spendSQL, args: []any{oldHash, at}, read: func(rows) error {
			spent = true
			return nil
		}},
		stmt{sql: storeSuccessorSQL, args: []any{next.Hash, timestamp(next.ExpiresAt), oldHash, at}},
		stmt{sql: selectUsers + ` WHERE id = (SELECT s.user_id FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id WHERE t.hash = $1)`,
			args: []any{oldHash}, read: func(r rows) (err error) {
				user, err = scanUser(r)
				return err
			}},
	)
	if err != nil {
		return nil, dbError(err)
	}
	if spent {
		return user, nil
	}
	// Not spent, and nothing changed: refusal says why.
	var reusedBy int64
	err = s.tx(ctx, func(tx *gorm.DB) (err error) {
		reusedBy, err = refusal(tx, oldHash, now)
		return err
	})
	if err == nil {
		return nil, &models.RefreshReusedError{UserID: reusedBy, Err: errRefused(models.ErrRefreshReused)}
	}
	return nil, dbError(err)
}

// spendSQL spends a token that is good to spend: unspent, unexpired, in a
// session that is not revoked, of an active user. It returns the token's
// session, or no row when any check fails, and then changes nothing.
//
// On PostgreSQL the UPDATE locks the token's row and, under READ
// COMMITTED, re-checks "used_at IS NULL" on the newest version once a
// concurrent spender commits, so of N concurrent refreshes with one token
// exactly one gets a row. SQLite runs one writer at a time.
const spendSQL = `UPDATE refresh_tokens SET used_at = $2
WHERE hash = $1 AND used_at IS NULL AND expires_at > $2
	AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL AND u.is_active)
RETURNING session_id`

// storeSuccessorSQL stores the successor ($1, expiring at $2) of the token
// with hash $3 that spendSQL just spent at $4, in its session, and stores
// nothing if spendSQL spent nothing. (A concurrent refresh that lost the
// spend within the same microsecond could store one too; it then revokes
// the whole session as a reuse, successors and all.)
const storeSuccessorSQL = `INSERT INTO refresh_tokens (hash, session_id, expires_at)
SELECT $1, session_id, $2 FROM refresh_tokens WHERE hash = $3 AND used_at = $4`

// refusal tells why spendSQL did not spend the token with hash: it is
// unknown or expired, its session is revoked or its user inactive, or it
// was spent before. That last is a reuse: refusal revokes the session and
// returns its user, with no error, so that the revocation commits.
func refusal(tx *gorm.DB, hash string, now time.Time) (reusedBy int64, err error) {
	var tok refreshTokenRow
	if err := tx.Where("hash = ?", hash).Take(&tok).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, errRefused(errUnknownToken)
		}
		return 0, err
	}
	var sess sessionRow
	if err := tx.Where("id = ?", tok.SessionID).Take(&sess).Error; err != nil {
		return 0, err
	}
	switch {
	case tok.UsedAt != nil:
		return sess.UserID, revokeSession(tx, sess.ID, now, "refresh_reuse")
	case !tok.ExpiresAt.After(now):
		return 0, errRefused(errExpiredToken)
	case sess.RevokedAt != nil:
		return 0, errRefused(errSessionRevoked)
	}
	return 0, errRefused(errUserInactive)
}

// EndSession ends the session of the refresh token whose hash is
// tokenHash, spent or not: a logout. A session that already ended is not
// an error; an unknown or expired token is EUNAUTHORIZED.
func (s *Store) EndSession(ctx context.Context, tokenHash string, now time.Time) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	var tok refreshTokenRow
	if err := db.Where("hash = ?", tokenHash).Take(&tok).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errRefused(errUnknownToken)
		}
		return dbError(err)
	}
	if !tok.ExpiresAt.After(now) {
		return errRefused(errExpiredToken)
	}
	return dbError(revokeSession(db, tok.SessionID, now, "logout"))
}

func revokeSession(tx *gorm.DB, id string, now time.Time, reason string) error {
	return tx.Model(&sessionRow{}).Where("id = ? AND revoked_at IS NULL", id).
		Updates(map[string]any{"revoked_at": timestamp(now), "revoke_reason": reason}).Error
}

func revokeUserSessions(tx *gorm.DB, userID int64, reason string) error {
	return tx.Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
		Updates(map[string]any{"revoked_at": timestamp(time.Now()), "revoke_reason": reason}).Error
}

// SessionByID returns a session, or ENOTFOUND.
func (s *Store) SessionByID(ctx context.Context, id string) (*models.Session, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var row sessionRow
	if err := db.Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, dbError(err)
	}
	return &models.Session{ID: row.ID, UserID: row.UserID, CreatedAt: row.CreatedAt, RevokedAt: row.RevokedAt}, nil
}

// PurgeExpired deletes refresh tokens that expired before cutoff, and the
// sessions left with no tokens. An expired token is refused already, and
// an unknown one is refused the same way, so forgetting it loses nothing.
func (s *Store) PurgeExpired(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("expires_at < ?", timestamp(cutoff)).Delete(&refreshTokenRow{})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return tx.Where("created_at < ? AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = sessions.id)", timestamp(cutoff)).
			Delete(&sessionRow{}).Error
	})
	return n, dbError(err)
}
