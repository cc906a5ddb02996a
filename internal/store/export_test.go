package store

import (
	"context"

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

// MigrateTo applies the migrations up to and including id.
func (s *Store) MigrateTo(ctx context.Context, id string) error { return s.migrateTo(ctx, id) }

// Exec runs a statement, for tests that set up rows as an older release
// wrote them.
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	return s.db.WithContext(ctx).Exec(sql, args...).Error
}

// Strings runs a query of one text column on s's database.
func (s *Store) Strings(ctx context.Context, query string, args ...any) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Raw(query, args...).Scan(&out).Error
	return out, err
}

// HoldUserReads makes each read of s's user loader call hold with the ids
// it asked for, after reading its rows and before caching or answering
// them. Call it before s serves any read.
func HoldUserReads(s *Store, hold func(ids []int64)) {
	read := s.loader.read
	s.loader.read = func(ids []int64) (map[int64]*models.User, error) {
		users, err := read(ids)
		hold(ids)
		return users, err
	}
}

// QueuedUserReads is how many ids wait in s's user loader for the next read.
func QueuedUserReads(s *Store) int {
	s.loader.mu.Lock()
	defer s.loader.mu.Unlock()
	return len(s.loader.queue)
}
