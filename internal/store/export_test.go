package store

// UserCacheLen is how many users s's cache holds.
func UserCacheLen(s *Store) int {
	s.users.mu.RLock()
	defer s.users.mu.RUnlock()
	return len(s.users.entries)
}

// ForceUserCacheLive turns s's cache on without a listener, so that a test
// sees this process's own invalidations and nothing else.
func ForceUserCacheLive(s *Store) { s.users.setLive(true) }
