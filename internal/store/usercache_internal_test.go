package store

import (
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// A read that began before a write's invalidation must not store the row
// it read, which may be the one the write replaced.
func TestUserCacheRefusesAFillOlderThanAnInvalidation(t *testing.T) {
	c := newUserCache(true, time.Minute, 10)
	_, gen, ok := c.get(1)
	if ok {
		t.Fatal("empty cache: got a hit")
	}
	c.invalidate(1) // a write committed while the read was in flight
	c.put(&models.User{ID: 1, Role: "admin"}, gen)
	if u, _, ok := c.get(1); ok {
		t.Errorf("after a racing invalidation: got cached %+v, want a miss", u)
	}
	_, gen, _ = c.get(1)
	c.put(&models.User{ID: 1, Role: "user"}, gen)
	if u, _, ok := c.get(1); !ok || u.Role != "user" {
		t.Errorf("undisturbed fill: got %+v, %v; want the user cached", u, ok)
	}
}

// Nothing is served or stored while the cache is not live, and going
// live or not empties it.
func TestUserCacheNotLiveIsBypassed(t *testing.T) {
	c := newUserCache(true, time.Minute, 10)
	_, gen, _ := c.get(1)
	c.put(&models.User{ID: 1}, gen)
	c.setLive(false)
	_, gen, _ = c.get(1)
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
	_, gen, _ := c.get(1)
	c.put(&models.User{ID: 1, Role: "user", LastLogin: &at}, gen)
	u, _, _ := c.get(1)
	u.Role = "admin"
	*u.LastLogin = time.Unix(200, 0)
	if again, _, _ := c.get(1); again.Role != "user" || !again.LastLogin.Equal(time.Unix(100, 0)) {
		t.Errorf("after changing a copy: got %+v, want the cached user unchanged", again)
	}
}
