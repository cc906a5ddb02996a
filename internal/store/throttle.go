package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/rolegate/rolegate/models"
)

// countSQL adds one event to a counter in one statement, so that
// concurrent events on any replica all count. The SET expressions all see
// the row as it was, so each one spells out the new count. A counter
// starts again from one when its window is over and it has not been
// blocked for a whole window: once blocked, it is forgotten only after a
// window without a block, so that an attacker who keeps trying as fast as
// the blocks allow stays at one attempt per window.
var countSQL = func() string {
	stale := "(login_throttle.window_start_ms <= @window_cutoff AND login_throttle.blocked_until_ms <= @window_cutoff)"
	count := "(CASE WHEN " + stale + " THEN 1 ELSE login_throttle.failures + 1 END)"
	delay := "(CASE WHEN " + count + " < @max THEN 0 WHEN " + count + " = @max THEN @base" +
		" WHEN login_throttle.delay_ms * 2 >= @window THEN @window ELSE login_throttle.delay_ms * 2 END)"
	return strings.Join([]string{
		"INSERT INTO login_throttle (kind, name, failures, window_start_ms, delay_ms, blocked_until_ms)",
		"VALUES (@kind, @name, 1, @now, @first_delay, @first_blocked)",
		"ON CONFLICT (kind, name) DO UPDATE SET",
		"failures = " + count + ",",
		"window_start_ms = CASE WHEN " + stale + " THEN @now ELSE login_throttle.window_start_ms END,",
		"delay_ms = " + delay + ",",
		"blocked_until_ms = CASE WHEN " + delay + " = 0 THEN 0 ELSE CAST(@now AS BIGINT) + " + delay + " END",
		"RETURNING failures, blocked_until_ms",
	}, "\n")
}()

// CountThrottle adds one event (a failed login, a signup) to the counter
// key under limit at now, and returns the counter after it. Returns
// EUNAVAILABLE if the database fails.
func (s *Store) CountThrottle(ctx context.Context, key models.ThrottleKey, limit models.ThrottleLimit, now time.Time) (models.ThrottleState, error) {
	window := limit.Window.Milliseconds()
	base := min(limit.BaseDelay.Milliseconds(), window)
	nowMS := now.UnixMilli()
	firstDelay, firstBlocked := int64(0), int64(0)
	if limit.Max <= 1 {
		firstDelay, firstBlocked = base, nowMS+base
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var row struct {
		Failures       int64
		BlockedUntilMs int64
	}
	err := db.Raw(countSQL,
		sql.Named("kind", key.Kind), sql.Named("name", key.Name), sql.Named("now", nowMS),
		sql.Named("window_cutoff", nowMS-window), sql.Named("window", window), sql.Named("max", int64(limit.Max)),
		sql.Named("base", base), sql.Named("first_delay", firstDelay), sql.Named("first_blocked", firstBlocked),
	).Scan(&row).Error
	if err != nil {
		return models.ThrottleState{}, dbError(err)
	}
	st := models.ThrottleState{Count: row.Failures}
	if row.BlockedUntilMs > 0 {
		st.BlockedUntil = time.UnixMilli(row.BlockedUntilMs).UTC()
	}
	return st, nil
}

// ThrottleBlockedUntil returns the latest time at which any of keys is
// blocked, or the zero time if none is blocked at now. It is one indexed
// read, cheap enough to run before every password check. Returns
// EUNAVAILABLE if the database fails.
func (s *Store) ThrottleBlockedUntil(ctx context.Context, keys []models.ThrottleKey, now time.Time) (time.Time, error) {
	if len(keys) == 0 {
		return time.Time{}, nil
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	q := db.Table("login_throttle").Select("COALESCE(MAX(blocked_until_ms), 0)").Where("blocked_until_ms > ?", now.UnixMilli())
	match := db.Where("kind = ? AND name = ?", keys[0].Kind, keys[0].Name)
	for _, k := range keys[1:] {
		match = match.Or("kind = ? AND name = ?", k.Kind, k.Name)
	}
	var until int64
	if err := q.Where(match).Scan(&until).Error; err != nil {
		return time.Time{}, dbError(err)
	}
	if until == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(until).UTC(), nil
}

// ThrottleCount returns the number of events counted under key, 0 if none.
func (s *Store) ThrottleCount(ctx context.Context, key models.ThrottleKey) (int64, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var n int64
	err := db.Table("login_throttle").Select("COALESCE(MAX(failures), 0)").
		Where("kind = ? AND name = ?", key.Kind, key.Name).Scan(&n).Error
	return n, dbError(err)
}

// ResetThrottle forgets the counter key, as after a successful login.
// Resetting a counter that does not exist is not an error.
func (s *Store) ResetThrottle(ctx context.Context, key models.ThrottleKey) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	return dbError(db.Exec("DELETE FROM login_throttle WHERE kind = ? AND name = ?", key.Kind, key.Name).Error)
}

// PurgeThrottle deletes counters whose window started, and whose block
// ended, at or before cutoff: with cutoff a longest window ago, they would
// start over at their next event anyway. It returns how many it deleted.
func (s *Store) PurgeThrottle(ctx context.Context, cutoff time.Time) (int64, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	c := cutoff.UnixMilli()
	res := db.Exec("DELETE FROM login_throttle WHERE window_start_ms <= ? AND blocked_until_ms <= ?", c, c)
	return res.RowsAffected, dbError(res.Error)
}
