package store_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestUserLoader runs the user loader's tests on every database.
func TestUserLoader(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			t.Run("ConcurrentMisses", func(t *testing.T) { testLoaderConcurrentMisses(t, target.URL) })
			t.Run("DeactivatedInFlight", func(t *testing.T) { testLoaderDeactivatedInFlight(t, target.URL) })
		})
	}
}

// loaderStore opens url with a live cache and a user loader whose first
// read waits, after reading its rows, until release is closed. reads
// gets the ids of every read.
func loaderStore(t *testing.T, url string) (s *store.Store, release chan struct{}, reads chan []int64) {
	t.Helper()
	s = openCached(t, url, store.Options{})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store.ForceUserCacheLive(s) // only this process's invalidations
	release, reads = make(chan struct{}), make(chan []int64, 100)
	var first sync.Once
	store.HoldUserReads(s, func(ids []int64) {
		reads <- slices.Clone(ids)
		first.Do(func() { <-release })
	})
	return s, release, reads
}

// waitQueued polls until n ids wait in s's loader for the next read.
func waitQueued(t *testing.T, s *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for store.QueuedUserReads(s) != n {
		if time.Now().After(deadline) {
			t.Fatalf("queued reads: got %d, want %d", store.QueuedUserReads(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Misses that come while a read is in flight go together in the next
// read, and each gets its own user with its groups, or ENOTFOUND.
func testLoaderConcurrentMisses(t *testing.T, url string) {
	s, release, reads := loaderStore(t, url)
	first := newUser(t, s, "user")
	const n = 40
	users := make([]*models.User, n)
	groups := make([][]string, n)
	for i := range users {
		users[i] = newUser(t, s, "user")
		for range i % 3 {
			g := groupName()
			if _, _, err := s.AddUserToGroup(ctx, users[i].ID, g, 0); err != nil {
				t.Fatal(err)
			}
			groups[i] = append(groups[i], g)
		}
		slices.Sort(groups[i])
	}
	firstDone := make(chan error, 1)
	go func() { _, err := s.CurrentUser(ctx, first.ID); firstDone <- err }()
	if got := <-reads; !slices.Equal(got, []int64{first.ID}) {
		t.Fatalf("first read: got ids %v, want [%d] at once", got, first.ID)
	}
	got := make([]*models.User, n)
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := range n + 1 {
		wg.Go(func() {
			if i == n {
				_, errs[i] = s.CurrentUser(ctx, 1<<40) // no such user
				return
			}
			got[i], errs[i] = s.CurrentUser(ctx, users[i].ID)
		})
	}
	waitQueued(t, s, n+1)
	close(release)
	wg.Wait()
	if err := <-firstDone; err != nil {
		t.Fatalf("first miss: %v", err)
	}
	if batch := <-reads; len(batch) != n+1 {
		t.Errorf("second read: got %d ids, want the %d misses in one read", len(batch), n+1)
	}
	for i := range n {
		if errs[i] != nil || got[i].ID != users[i].ID || got[i].Username != users[i].Username || !slices.Equal(got[i].Groups, groups[i]) {
			t.Errorf("user %d: got %+v, %v; want %s with groups %v", users[i].ID, got[i], errs[i], users[i].Username, groups[i])
		}
	}
	if models.ErrorCode(errs[n]) != models.ENOTFOUND {
		t.Errorf("missing user: got %v, want ENOTFOUND", errs[n])
	}
}

// A user deactivated while a read of them is in flight is not served as
// active to a miss after the write, nor cached from the read that began
// before it.
func testLoaderDeactivatedInFlight(t *testing.T, url string) {
	s, release, reads := loaderStore(t, url)
	u := newUser(t, s, "user")
	before := make(chan *models.User, 1)
	go func() {
		got, err := s.CurrentUser(ctx, u.ID)
		if err != nil {
			t.Errorf("read before the write: %v", err)
		}
		before <- got
	}()
	<-reads // the row is read, as active, and held
	if _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{IsActive: ptr(false)}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
	after := make(chan *models.User, 1)
	go func() {
		got, err := s.CurrentUser(ctx, u.ID)
		if err != nil {
			t.Errorf("read after the write: %v", err)
		}
		after <- got
	}()
	waitQueued(t, s, 1) // it waits for a read of its own
	close(release)
	if got := <-before; got == nil || !got.IsActive {
		t.Errorf("read sent before the write: got %+v, want the user as it was read (active)", got)
	}
	if got := <-after; got == nil || got.IsActive {
		t.Errorf("miss after the write: got %+v, want the user inactive", got)
	}
	if got, err := s.CurrentUser(ctx, u.ID); err != nil || got.IsActive {
		t.Errorf("read after both: got %+v, %v; want the user inactive", got, err)
	}
}
