package store

import (
	"context"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"

	"github.com/rolegate/rolegate/models"
)

// UserCacheLen is how many users s's cache holds.
func UserCacheLen(s *Store) int {
	s.users.mu.RLock()
	defer s.users.mu.RUnlock()
	return len(s.users.entries)
}

// ForceUserCacheLive turns s's cache on without a listener, so that a test
// sees this process's own invalidations and nothing else.
func ForceUserCacheLive(s *Store) { s.users.setLive(true) }

// RotateInOneStatement is the PostgreSQL fast path of RotateRefreshToken on
// its own, without the transaction it falls back to.
func RotateInOneStatement(s *Store, oldHash string, next models.RefreshToken, now time.Time) (*models.User, error) {
	return s.rotateInOneStatement(context.Background(), oldHash, next, now)
}

// MigrateTo applies the migrations up to and including id, as a database
// last migrated by an older release would be.
func MigrateTo(s *Store, id string) error {
	return s.withMigrator(context.Background(), func(m *gormigrate.Gormigrate) error { return m.MigrateTo(id) })
}

// Exec runs a statement on s's database, as an older binary or an
// operator at a SQL prompt would.
func Exec(s *Store, query string, args ...any) error {
	return s.db.Exec(query, args...).Error
}

// Strings runs a query of one text column on s's database.
func Strings(s *Store, query string, args ...any) ([]string, error) {
	var out []string
	err := s.db.Raw(query, args...).Scan(&out).Error
	return out, err
}
