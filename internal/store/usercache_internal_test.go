package store

import (
	"context"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// A read that began before a write's invalidation must not store the row
// it read, which may be the one the write replaced.
func TestUserCacheRefusesAFillOlderThanAnInvalidation(t *testing.T) {
	c := newUserCache(true, time.Minute, 10)
	gen := c.generation()
	_, _, ok := c.get(1)
	if ok {
		t.Fatal("empty cache: got a hit")
	}
	c.invalidate(1) // a write committed while the read was in flight
	c.put(&models.User{ID: 1, Role: "admin"}, gen)
	if u, _, ok := c.get(1); ok {
		t.Errorf("after a racing invalidation: got cached %+v, want a miss", u)
	}
	gen = c.generation()
	c.put(&models.User{ID: 1, Role: "user"}, gen)
	if u, _, ok := c.get(1); !ok || u.Role != "user" {
		t.Errorf("undisturbed fill: got %+v, %v; want the user cached", u, ok)
	}
}

// Nothing is served or stored while the cache is not live, and going
// live or not empties it.
func TestUserCacheNotLiveIsBypassed(t *testing.T) {
	c := newUserCache(true, time.Minute, 10)
	gen := c.generation()
	c.put(&models.User{ID: 1}, gen)
	c.setLive(false)
	gen = c.generation()
	c.put(&models.User{ID: 1}, gen)
	if len(c.entries) != 0 {
		t.Errorf("not live: got %d entries, want 0", len(c.entries))
	}
	c.entries[1] = cachedUser{user: models.User{ID: 1}, expires: time.Now().Add(time.Hour)}
	if _, _, ok := c.get(1); ok {
		t.Error("not live: got a hit, want a miss")
	}
	c.setLive(true)
	if _, _, ok := c.get(1); ok {
		t.Error("live again: got a hit from before, want a miss")
	}
}

// Callers get copies: changing one does not change the cache.
func TestUserCacheHandsOutCopies(t *testing.T) {
	c := newUserCache(true, time.Minute, 10)
	at := time.Unix(100, 0)
	gen := c.generation()
	c.put(&models.User{ID: 1, Role: "user", LastLogin: &at}, gen)
	u, _, _ := c.get(1)
	u.Role = "admin"
	*u.LastLogin = time.Unix(200, 0)
	if again, _, _ := c.get(1); again.Role != "user" || !again.LastLogin.Equal(time.Unix(100, 0)) {
		t.Errorf("after changing a copy: got %+v, want the cached user unchanged", again)
	}
}

// The first hit in the last quarter of an entry's life, and only that
// one, asks for a read ahead of the expiry; a new entry starts over.
func TestUserCacheRefreshesAhead(t *testing.T) {
	c := newUserCache(true, time.Minute, 10)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.put(&models.User{ID: 1}, c.generation())
	if _, refresh, ok := c.get(1); !ok || refresh {
		t.Errorf("fresh entry: got refresh=%v, ok=%v; want a hit without a refresh", refresh, ok)
	}
	now = now.Add(50 * time.Second)
	if _, refresh, ok := c.get(1); !ok || !refresh {
		t.Errorf("first hit in the last quarter: got refresh=%v, ok=%v; want a hit and a refresh", refresh, ok)
	}
	if _, refresh, ok := c.get(1); !ok || refresh {
		t.Errorf("second hit in the last quarter: got refresh=%v, ok=%v; want a hit without a refresh", refresh, ok)
	}
	c.put(&models.User{ID: 1}, c.generation()) // the refreshed read
	now = now.Add(50 * time.Second)
	if _, refresh, ok := c.get(1); !ok || !refresh {
		t.Errorf("refreshed entry near its own expiry: got refresh=%v, ok=%v; want a hit and a refresh", refresh, ok)
	}
}

// TestUserLoaderSurvivesAPanickingRead: a read that panics answers its
// waiters with an error and gives its read back, so the next miss is read.
func TestUserLoaderSurvivesAPanickingRead(t *testing.T) {
	calls := 0
	l := newUserLoader(newUserCache(true, 0, 0), func(ids []int64) (map[int64]*models.User, error) {
		calls++
		if calls == 1 {
			panic("driver bug")
		}
		return map[int64]*models.User{ids[0]: {ID: ids[0], Username: "back"}}, nil
	})
	if _, err := l.load(context.Background(), 5); err == nil {
		t.Fatal("the panicking read: got no error, want one")
	}
	u, err := l.load(context.Background(), 5)
	if err != nil || u.Username != "back" {
		t.Fatalf("the next miss: got %+v, %v, want user back", u, err)
	}
}
