package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// openCached opens url with a user cache whose entries outlive any test,
// so that only invalidations can make a change visible.
func openCached(t *testing.T, url string, opts store.Options) *store.Store {
	t.Helper()
	if opts.UserCacheTTL == 0 {
		opts.UserCacheTTL = time.Hour
	}
	s, err := store.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// behindTheCache changes u's first name in the database without telling
// any cache, and returns the new name.
func behindTheCache(t *testing.T, s *store.Store, id int64) string {
	t.Helper()
	db, err := s.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	name := "raw" + strings.ToLower(rand.Text()[:6])
	if _, err := db.ExecContext(ctx, fmt.Sprintf("UPDATE users SET first_name = '%s' WHERE id = %d", name, id)); err != nil {
		t.Fatal(err)
	}
	return name
}

// cachedUser reads id through s's cache and checks that the cache serves
// it: a change made behind the cache does not show.
func cachedUser(t *testing.T, s *store.Store, id int64) *models.User {
	t.Helper()
	// A notification of an earlier write (the user's creation, on another
	// store of the same database) may still arrive and drop the entry
	// just read: then the read after the change behind the cache is
	// fresh. Such a notification comes once, so a few tries tell a late
	// notification from a cache that does not cache.
	var again *models.User
	var err error
	for range 5 {
		var u *models.User
		if u, err = s.CurrentUser(ctx, id); err != nil {
			t.Fatal(err)
		}
		behindTheCache(t, s, id)
		if again, err = s.CurrentUser(ctx, id); err == nil && again.FirstName == u.FirstName {
			return u
		}
	}
	t.Fatalf("cached read, 5 tries: got %+v, %v; want the first name read before the change behind the cache", again, err)
	return nil
}

// userWrites are every store write to an existing user, each with what
// must show in the user read next. check gets the user read after the
// write (nil if it is gone) and the user before it.
var userWrites = map[string]struct {
	write func(s *store.Store, id int64) error
	check func(after, before *models.User, err error) error
}{
	"role": {
		func(s *store.Store, id int64) error {
			_, err := s.UpdateUser(ctx, id, models.UserPatch{Role: ptr("admin")}, models.AdminGuard{}, nil)
			return err
		},
		func(after, _ *models.User, err error) error {
			return want(err == nil && after.Role == "admin", after, err)
		},
	},
	"deactivation": {
		func(s *store.Store, id int64) error {
			_, err := s.UpdateUser(ctx, id, models.UserPatch{IsActive: ptr(false)}, models.AdminGuard{}, nil)
			return err
		},
		func(after, _ *models.User, err error) error { return want(err == nil && !after.IsActive, after, err) },
	},
	"password (token epoch)": {
		func(s *store.Store, id int64) error {
			_, err := s.UpdateUser(ctx, id, models.UserPatch{PasswordHash: ptr("$argon2id$new")}, models.AdminGuard{}, nil)
			return err
		},
		func(after, before *models.User, err error) error {
			return want(err == nil && after.TokenEpoch == before.TokenEpoch+1 && after.PasswordHash == "$argon2id$new", after, err)
		},
	},
	"login": {
		func(s *store.Store, id int64) error {
			u, err := s.UserByID(ctx, id)
			if err != nil {
				return err
			}
			return s.RecordLogin(ctx, u, time.Now(), "$argon2id$rehashed")
		},
		func(after, _ *models.User, err error) error {
			return want(err == nil && after.LastLogin != nil && after.PasswordHash == "$argon2id$rehashed", after, err)
		},
	},
	"deletion": {
		func(s *store.Store, id int64) error { return s.DeleteUser(ctx, id, models.AdminGuard{}) },
		func(after, _ *models.User, err error) error {
			return want(models.ErrorCode(err) == models.ENOTFOUND, after, err)
		},
	},
}

func ptr[T any](v T) *T { return &v }

func want(ok bool, u *models.User, err error) error {
	if ok {
		return nil
	}
	return fmt.Errorf("got %+v, %v", u, err)
}

// Every write to a user drops the user from the writing process's cache
// before it returns.
func TestUserCacheLocalInvalidation(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openCached(t, target.URL, store.Options{})
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			store.ForceUserCacheLive(s) // no listener: only local invalidation
			for name, w := range userWrites {
				t.Run(name, func(t *testing.T) {
					u := newUser(t, s, "user")
					before := cachedUser(t, s, u.ID)
					if err := w.write(s, u.ID); err != nil {
						t.Fatal(err)
					}
					after, err := s.CurrentUser(ctx, u.ID)
					if err := w.check(after, before, err); err != nil {
						t.Errorf("read right after the write: %v", err)
					}
				})
			}
			t.Run("import", func(t *testing.T) {
				id := newUser(t, s, "user").ID + 1000
				if _, err := s.CurrentUser(ctx, id); models.ErrorCode(err) != models.ENOTFOUND {
					t.Fatalf("before the import: got %v, want not found", err)
				}
				importBatch(t, s, imported(id, fmt.Sprintf("imp%d", id)))
				if u, err := s.CurrentUser(ctx, id); err != nil || u.ID != id {
					t.Errorf("after the import: got %+v, %v; want user %d", u, err, id)
				}
			})
		})
	}
}

// Entries expire after the TTL even when nothing invalidates them.
func TestUserCacheTTL(t *testing.T) {
	target := dbtest.Targets(t)[0] // SQLite: no listener, only the TTL
	s := openCached(t, target.URL, store.Options{UserCacheTTL: 200 * time.Millisecond})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, s, "user")
	if _, err := s.CurrentUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	name := behindTheCache(t, s, u.ID)
	pollUser(t, s, u.ID, 3*time.Second, func(u *models.User) bool { return u.FirstName == name })
}

// The cache holds at most its size.
func TestUserCacheIsBounded(t *testing.T) {
	target := dbtest.Targets(t)[0]
	s := openCached(t, target.URL, store.Options{UserCacheSize: 2})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := s.CurrentUser(ctx, newUser(t, s, "user").ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.UserCacheLen(s); n > 2 || n == 0 {
		t.Errorf("after 5 users: got %d cached, want 1 or 2", n)
	}
}

// pollUser reads id until ok accepts it, for at most within.
func pollUser(t *testing.T, s *store.Store, id int64, within time.Duration, ok func(*models.User) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		u, err := s.CurrentUser(ctx, id)
		if err == nil && ok(u) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: got %+v, %v; want the change", within, u, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pollUntil waits, at most within, for cond.
func pollUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s did not happen", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two replicas on one PostgreSQL database: a write through A shows in B's
// cached reads within a second, through the notification in A's
// transaction; and while B's listener is down, B reads the database.
func TestUserCacheAcrossReplicas(t *testing.T) {
	target := dbtest.Postgres(t)
	a := openCached(t, target.URL, store.Options{})
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := openCached(t, target.URL, store.Options{})
	if b.UserCacheLive() {
		t.Fatal("before its listener connects: B's cache is live, want bypassed")
	}
	appName := "rolegate-test-users-" + strings.ToLower(rand.Text()[:8])
	followCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.FollowUserChanges(followCtx, appName, nil)
	}()
	t.Cleanup(func() { stop(); <-done })
	pollUntil(t, 5*time.Second, "B's listener connecting", b.UserCacheLive)

	for name, w := range userWrites {
		t.Run(name, func(t *testing.T) {
			u := newUser(t, a, "user")
			before := cachedUser(t, b, u.ID)
			if err := w.write(a, u.ID); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Second)
			for {
				after, err := b.CurrentUser(ctx, u.ID)
				if w.check(after, before, err) == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("B a second after A's write: %v", w.check(after, before, err))
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}

	t.Run("listener down", func(t *testing.T) {
		u := newUser(t, a, "user")
		// Up to three tries, in case B reconnects in the middle of one.
		for try := 0; ; try++ {
			cachedUser(t, b, u.ID)
			terminate(t, a, appName)
			pollUntil(t, 2*time.Second, "B noticing its listener is gone", func() bool { return !b.UserCacheLive() })
			name := behindTheCache(t, a, u.ID)
			got, err := b.CurrentUser(ctx, u.ID)
			if err != nil || got.FirstName != name {
				t.Fatalf("listener down: got %+v, %v; want first name %q from the database", got, err, name)
			}
			name = behindTheCache(t, a, u.ID)
			got, err = b.CurrentUser(ctx, u.ID)
			if b.UserCacheLive() && try < 2 {
				pollUntil(t, 5*time.Second, "B reconnecting", b.UserCacheLive)
				continue
			}
			if err != nil || got.FirstName != name {
				t.Fatalf("listener down, second read: got %+v, %v; want first name %q, not a cached one", got, err, name)
			}
			break
		}
		// Notifications sent while B was down are lost; it must not serve
		// what it cached before.
		name := behindTheCache(t, a, u.ID)
		pollUntil(t, 5*time.Second, "B reconnecting", b.UserCacheLive)
		if got, err := b.CurrentUser(ctx, u.ID); err != nil || got.FirstName != name {
			t.Fatalf("reconnected: got %+v, %v; want first name %q", got, err, name)
		}
		cachedUser(t, b, u.ID) // and the cache serves again
	})
}

// terminate ends the PostgreSQL backend named appName.
func terminate(t *testing.T, s *store.Store, appName string) {
	t.Helper()
	db, err := s.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminate %s: got %d backends, want 1", appName, n)
	}
}
