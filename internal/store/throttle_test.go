package store_test

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestThrottle runs the throttle counters' tests on every database.
func TestThrottle(t *testing.T) {
	tests := map[string]func(*testing.T, *store.Store){
		"ConcurrentEventsAllCount": testThrottleConcurrentEventsAllCount,
		"BackoffDoublesToWindow":   testThrottleBackoffDoublesToWindow,
		"WindowStartsOver":         testThrottleWindowStartsOver,
		"BlockedUntilOfManyKeys":   testThrottleBlockedUntilOfManyKeys,
		"ResetAndPurge":            testThrottleResetAndPurge,
	}
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			for name, test := range tests {
				t.Run(name, func(t *testing.T) { test(t, s) })
			}
		})
	}
}

var (
	t0          = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	loginLimits = models.ThrottleLimit{Max: 3, Window: 15 * time.Minute, BaseDelay: time.Second}
)

func throttleKey(kind string) models.ThrottleKey {
	return models.ThrottleKey{Kind: kind, Name: rand.Text()}
}

func count(t *testing.T, s *store.Store, key models.ThrottleKey, limit models.ThrottleLimit, at time.Time) models.ThrottleState {
	t.Helper()
	st, err := s.CountThrottle(ctx, key, limit, at)
	if err != nil {
		t.Fatalf("count %v at %v: %v", key, at, err)
	}
	return st
}

// Each failure is one UPSERT, so concurrent failures on one key all count:
// a read-then-write would lose some of these 50.
func testThrottleConcurrentEventsAllCount(t *testing.T, s *store.Store) {
	key := throttleKey(models.ThrottleLoginAccount)
	limit := models.ThrottleLimit{Max: 1000, Window: time.Hour, BaseDelay: time.Second}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if _, err := s.CountThrottle(ctx, key, limit, t0); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent count: %v", err)
	}
	got, err := s.ThrottleCount(ctx, key)
	if err != nil || got != n {
		t.Fatalf("counter after %d concurrent failures: got %d (%v), want %d", n, got, err, n)
	}
}

func testThrottleBackoffDoublesToWindow(t *testing.T, s *store.Store) {
	key := throttleKey(models.ThrottleLoginAccount)
	at := t0
	for i := 1; i < loginLimits.Max; i++ {
		if st := count(t, s, key, loginLimits, at); st.Count != int64(i) || !st.BlockedUntil.IsZero() {
			t.Fatalf("failure %d: got %+v, want count %d and no block", i, st, i)
		}
	}
	// From the Max-th failure on, each one blocks for twice as long as the
	// one before, up to the window.
	want := loginLimits.BaseDelay
	for i := loginLimits.Max; i < loginLimits.Max+14; i++ {
		st := count(t, s, key, loginLimits, at)
		if st.Count != int64(i) || !st.BlockedUntil.Equal(at.Add(want)) {
			t.Fatalf("failure %d: got %+v, want count %d blocked until %v (+%v)", i, st, i, at.Add(want), want)
		}
		until, err := s.ThrottleBlockedUntil(ctx, []models.ThrottleKey{key}, at)
		if err != nil || !until.Equal(st.BlockedUntil) {
			t.Fatalf("blocked until after failure %d: got %v (%v), want %v", i, until, err, st.BlockedUntil)
		}
		at = st.BlockedUntil // the next attempt comes as soon as allowed
		want = min(2*want, loginLimits.Window)
	}
	if want != loginLimits.Window {
		t.Fatalf("delay after 14 blocked failures: got %v, want the window %v", want, loginLimits.Window)
	}
	// Once blocked, the counter goes on until a whole window passes after
	// the last block, though its first window is long over.
	at = at.Add(loginLimits.Window - time.Second)
	if st := count(t, s, key, loginLimits, at); st.Count != int64(loginLimits.Max+14) || !st.BlockedUntil.Equal(at.Add(loginLimits.Window)) {
		t.Fatalf("failure a second short of a quiet window: got %+v, want count %d blocked until %v", st, loginLimits.Max+14, at.Add(loginLimits.Window))
	}
	// Never permanent: a window after the block ended, it starts over.
	at = at.Add(2 * loginLimits.Window)
	if st := count(t, s, key, loginLimits, at); st.Count != 1 || !st.BlockedUntil.IsZero() {
		t.Fatalf("first failure a window after the block: got %+v, want count 1 and no block", st)
	}
}

// Below the limit, counting is in fixed windows: the first failure after a
// window starts a new one.
func testThrottleWindowStartsOver(t *testing.T, s *store.Store) {
	key := throttleKey(models.ThrottleLoginIP)
	limit := models.ThrottleLimit{Max: 5, Window: 15 * time.Minute, BaseDelay: time.Second}
	count(t, s, key, limit, t0)
	count(t, s, key, limit, t0.Add(time.Minute))
	if st := count(t, s, key, limit, t0.Add(limit.Window-time.Millisecond)); st.Count != 3 {
		t.Fatalf("third failure inside the window: got %+v, want count 3", st)
	}
	if st := count(t, s, key, limit, t0.Add(limit.Window)); st.Count != 1 || !st.BlockedUntil.IsZero() {
		t.Fatalf("failure after the window: got %+v, want count 1 and no block", st)
	}
}

func testThrottleBlockedUntilOfManyKeys(t *testing.T, s *store.Store) {
	free, short, long := throttleKey(models.ThrottleLoginIP), throttleKey(models.ThrottleLoginIP), throttleKey(models.ThrottleLoginAccount)
	count(t, s, free, loginLimits, t0)
	one := models.ThrottleLimit{Max: 1, Window: time.Hour, BaseDelay: time.Second}
	count(t, s, short, one, t0)
	count(t, s, long, one, t0)
	count(t, s, long, one, t0) // blocked for 2s
	cases := []struct {
		keys []models.ThrottleKey
		at   time.Time
		want time.Time
	}{
		{[]models.ThrottleKey{free}, t0, time.Time{}},
		{[]models.ThrottleKey{free, short}, t0, t0.Add(time.Second)},
		{[]models.ThrottleKey{short, long, free}, t0, t0.Add(2 * time.Second)},
		{[]models.ThrottleKey{short}, t0.Add(time.Second), time.Time{}},
		{[]models.ThrottleKey{throttleKey(models.ThrottleSignupIP)}, t0, time.Time{}},
		{nil, t0, time.Time{}},
	}
	for i, c := range cases {
		got, err := s.ThrottleBlockedUntil(ctx, c.keys, c.at)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("case %d: got %v (%v), want %v", i, got, err, c.want)
		}
	}
}

func testThrottleResetAndPurge(t *testing.T, s *store.Store) {
	reset, old, blocked, recent := throttleKey(models.ThrottleLoginAccount), throttleKey(models.ThrottleLoginIP), throttleKey(models.ThrottleLoginIP), throttleKey(models.ThrottleSignupIP)
	count(t, s, reset, loginLimits, t0)
	if err := s.ResetThrottle(ctx, reset); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetThrottle(ctx, reset); err != nil {
		t.Fatalf("reset of a missing counter: got %v, want nil", err)
	}
	count(t, s, old, loginLimits, t0)
	// A window that started long ago, but a block that ends at t0+1h.
	count(t, s, blocked, models.ThrottleLimit{Max: 1, Window: 2 * time.Hour, BaseDelay: time.Hour}, t0)
	count(t, s, recent, loginLimits, t0.Add(time.Hour))
	if _, err := s.PurgeThrottle(ctx, t0.Add(time.Hour-time.Second)); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[models.ThrottleKey]int64{reset: 0, old: 0, blocked: 1, recent: 1} {
		if got, err := s.ThrottleCount(ctx, key); err != nil || got != want {
			t.Errorf("%s after reset and purge: got %d (%v), want %d", key.Kind, got, err, want)
		}
	}
}

// BenchmarkThrottleCheck measures what the throttle adds to every login
// before the password is checked: one indexed read of two counters.
func BenchmarkThrottleCheck(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		b.Run(target.Name, func(b *testing.B) {
			s := freshStore(b, target)
			keys := []models.ThrottleKey{throttleKey(models.ThrottleLoginAccount), throttleKey(models.ThrottleLoginIP)}
			for _, k := range keys {
				if _, err := s.CountThrottle(ctx, k, loginLimits, t0); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := s.ThrottleBlockedUntil(ctx, keys, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThrottleCount measures counting one failed login (each costs
// two: the account's and the address's).
func BenchmarkThrottleCount(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		b.Run(target.Name, func(b *testing.B) {
			s := freshStore(b, target)
			key := throttleKey(models.ThrottleLoginAccount)
			limit := models.ThrottleLimit{Max: 1 << 30, Window: time.Hour, BaseDelay: time.Second}
			for b.Loop() {
				if _, err := s.CountThrottle(ctx, key, limit, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
