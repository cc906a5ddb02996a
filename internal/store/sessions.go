package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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

var forUpdate = clause.Locking{Strength: "UPDATE"}

// errTokenInvalid is what every refused refresh looks like to a client.
func errTokenInvalid(cause error) *models.Error {
	return &models.Error{Code: models.EUNAUTHORIZED, Reason: "token_not_valid", Message: "Token is invalid or expired", Err: cause}
}

// ErrRefreshReused marks a refresh token presented a second time. Its
// session has been revoked by the time this is returned. It is the models
// sentinel, so that callers that must not import the store can test for it.
var ErrRefreshReused = models.ErrRefreshReused

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
				return errTokenInvalid(errUserInactive)
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
// The spend is one conditional UPDATE, so of any number of concurrent
// refreshes with one token exactly one succeeds. A token that was already
// spent revokes its session (committed even though the refresh fails) and
// returns a *models.RefreshReusedError naming the session's user, which
// wraps ErrRefreshReused.
//
// On PostgreSQL a good token is spent in one statement (rotateSQL); only a
// token that statement declines goes through the transaction.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next models.RefreshToken, now time.Time) (*models.User, error) {
	if s.dialect == Postgres {
		u, err := s.rotateInOneStatement(ctx, oldHash, next, now)
		if u != nil || err != nil {
			return u, err
		}
		// Not a good token to spend, and nothing changed: the transaction
		// below finds out why, and revokes the session if the token was
		// spent before.
	}
	var user *models.User
	var reusedBy int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&refreshTokenRow{}).Where("hash = ? AND used_at IS NULL", oldHash).Update("used_at", timestamp(now))
		if res.Error != nil {
			return res.Error
		}
		var tok refreshTokenRow
		if err := tx.Where("hash = ?", oldHash).Take(&tok).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errTokenInvalid(errUnknownToken)
			}
			return err
		}
		if res.RowsAffected == 0 {
			var sess sessionRow
			if err := tx.Where("id = ?", tok.SessionID).Take(&sess).Error; err != nil {
				return err
			}
			reusedBy = sess.UserID
			return revokeSession(tx, tok.SessionID, now, "refresh_reuse")
		}
		var err error
		user, err = spend(tx, tok, next, now)
		return err
	})
	if err == nil && reusedBy != 0 {
		return nil, &models.RefreshReusedError{UserID: reusedBy, Err: errTokenInvalid(ErrRefreshReused)}
	}
	if err != nil {
		return nil, dbError(err)
	}
	return user, nil
}

// rotateSQL spends a token and stores its successor in its session in one
// statement, when every check spend makes passes: the token is unspent and
// unexpired, the session is not revoked and its user is active. It returns
// the user, or no row when any check fails; then nothing has changed,
// since the INSERT only inserts what the UPDATE returned.
//
// The UPDATE locks the token's row and, under READ COMMITTED, re-checks
// "used_at IS NULL" on the newest version once a concurrent spender
// commits, so of N concurrent refreshes with one token exactly one gets a
// row, as in the transaction.
const rotateSQL = `WITH spent AS (
	UPDATE refresh_tokens t SET used_at = $2
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE t.hash = $1 AND t.used_at IS NULL AND t.expires_at > $2
		AND s.id = t.session_id AND s.revoked_at IS NULL AND u.is_active
	RETURNING t.session_id, u.id, u.username, u.username_key, u.email, u.first_name, u.last_name, u.role,
		u.is_active, u.password_hash, u.token_epoch, u.account_key, u.date_joined, u.last_login
), stored AS (
	INSERT INTO refresh_tokens (hash, session_id, expires_at) SELECT $3, session_id, $4 FROM spent
)
SELECT id, username, username_key, email, first_name, last_name, role,
	is_active, password_hash, token_epoch, account_key, date_joined, last_login FROM spent`

// rotateInOneStatement is the common case of RotateRefreshToken on
// PostgreSQL: a good token, spent in one round trip and one commit. The
// transaction takes seven round trips, and a profile of POST
// /v1/auth/refresh had rolegate and PostgreSQL spending most of their CPU
// on them. It returns nil and no error when the token is not good to
// spend, and changes nothing then.
func (s *Store) rotateInOneStatement(ctx context.Context, oldHash string, next models.RefreshToken, now time.Time) (*models.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, models.Unavailable(err)
	}
	r, err := scanUserRow(sqlDB.QueryRowContext(ctx, rotateSQL, oldHash, timestamp(now), next.Hash, timestamp(next.ExpiresAt)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbError(err)
	}
	return r.model(), nil
}

// spend checks that a just-spent token was good to spend, and stores its
// successor in its session.
func spend(tx *gorm.DB, tok refreshTokenRow, next models.RefreshToken, now time.Time) (*models.User, error) {
	if !tok.ExpiresAt.After(now) {
		return nil, errTokenInvalid(errExpiredToken)
	}
	next.SessionID = tok.SessionID
	var sess sessionRow
	if err := tx.Where("id = ?", tok.SessionID).Take(&sess).Error; err != nil {
		return nil, err
	}
	if sess.RevokedAt != nil {
		return nil, errTokenInvalid(errSessionRevoked)
	}
	var u userRow
	if err := tx.Where("id = ?", sess.UserID).Take(&u).Error; err != nil {
		return nil, err
	}
	if !u.IsActive {
		return nil, errTokenInvalid(errUserInactive)
	}
	if err := tx.Create(tokenRow(next)).Error; err != nil {
		return nil, err
	}
	return u.model(), nil
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
			return errTokenInvalid(errUnknownToken)
		}
		return dbError(err)
	}
	if !tok.ExpiresAt.After(now) {
		return errTokenInvalid(errExpiredToken)
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
