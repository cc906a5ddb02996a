package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// consoleSessionRow is the console_sessions table (migration 0013).
type consoleSessionRow struct {
	IDHash     string `gorm:"primaryKey;column:id_hash"`
	UserID     int64
	CSRFSecret string `gorm:"column:csrf_secret"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
}

func (consoleSessionRow) TableName() string { return "console_sessions" }

func (r *consoleSessionRow) model() models.ConsoleSession {
	s := models.ConsoleSession{
		IDHash: r.IDHash, UserID: r.UserID, CSRFSecret: r.CSRFSecret,
		CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
	if r.RevokedAt != nil {
		t := r.RevokedAt.UTC()
		s.RevokedAt = &t
	}
	return s
}

// CreateConsoleSession stores a new console sign-in.
func (s *Store) CreateConsoleSession(ctx context.Context, cs models.ConsoleSession) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	row := consoleSessionRow{
		IDHash: cs.IDHash, UserID: cs.UserID, CSRFSecret: cs.CSRFSecret, CreatedAt: timestamp(cs.CreatedAt),
		LastSeenAt: timestamp(cs.LastSeenAt), ExpiresAt: timestamp(cs.ExpiresAt),
	}
	return dbError(db.Create(&row).Error)
}

// ConsoleSession returns the console session whose id hashes to idHash,
// revoked or expired alike (the console decides what is still valid), or
// ENOTFOUND.
func (s *Store) ConsoleSession(ctx context.Context, idHash string) (models.ConsoleSession, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var row consoleSessionRow
	if err := db.Where("id_hash = ?", idHash).Take(&row).Error; err != nil {
		return models.ConsoleSession{}, dbError(err)
	}
	return row.model(), nil
}

// TouchConsoleSession moves a live session's last use to now. It touches
// nothing once the session is revoked, so a request racing a sign-out
// cannot bring the session back.
func (s *Store) TouchConsoleSession(ctx context.Context, idHash string, now time.Time) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	return dbError(db.Model(&consoleSessionRow{}).Where("id_hash = ? AND revoked_at IS NULL", idHash).
		Update("last_seen_at", timestamp(now)).Error)
}

// RevokeConsoleSession ends one console session: a sign-out. Ending one
// that has ended already is not an error.
func (s *Store) RevokeConsoleSession(ctx context.Context, idHash string, now time.Time) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	return dbError(db.Model(&consoleSessionRow{}).Where("id_hash = ? AND revoked_at IS NULL", idHash).
		Update("revoked_at", timestamp(now)).Error)
}

// ActiveSessions returns the user's sessions that have not been revoked:
// API logins newest first, and console sign-ins that have not expired by
// now.
func (s *Store) ActiveSessions(ctx context.Context, userID int64, now time.Time) (models.UserSessions, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var out models.UserSessions
	var api []sessionRow
	if err := db.Where("user_id = ? AND revoked_at IS NULL", userID).Order("created_at DESC").Limit(100).Find(&api).Error; err != nil {
		return out, dbError(err)
	}
	for _, r := range api {
		out.API = append(out.API, models.Session{ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt.UTC()})
	}
	var cons []consoleSessionRow
	if err := db.Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, timestamp(now)).
		Order("created_at DESC").Limit(100).Find(&cons).Error; err != nil {
		return out, dbError(err)
	}
	for i := range cons {
		out.Console = append(out.Console, cons[i].model())
	}
	return out, nil
}

// EndUserSessions revokes every API and console session of the user and
// advances their token epoch, so that access tokens already issued stop
// working too, in one transaction, and returns how many sessions it
// ended. Returns ENOTFOUND for an unknown user.
func (s *Store) EndUserSessions(ctx context.Context, userID int64, now time.Time) (int64, error) {
	var n int64
	defer s.users.invalidate(userID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ?", userID).Update("token_epoch", gorm.Expr("token_epoch + 1"))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ENOTFOUND, "No such user.")
		}
		res = tx.Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
			Updates(map[string]any{"revoked_at": timestamp(now), "revoke_reason": "console"})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		res = tx.Model(&consoleSessionRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
			Update("revoked_at", timestamp(now))
		if res.Error != nil {
			return res.Error
		}
		n += res.RowsAffected
		return s.notifyUsers(tx, userID)
	})
	return n, dbError(err)
}

// PurgeConsoleSessions deletes console sessions that expired or were
// revoked before cutoff.
func (s *Store) PurgeConsoleSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	res := db.Where("expires_at < ? OR revoked_at < ?", timestamp(cutoff), timestamp(cutoff)).Delete(&consoleSessionRow{})
	return res.RowsAffected, dbError(res.Error)
}
