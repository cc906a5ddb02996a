package store

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/internal/repeat"
	"github.com/rolegate/rolegate/models"
)

// UserChannel is the PostgreSQL notification channel on which every write
// to a user announces the user's id, in the writing transaction, so that
// every replica drops its cached copy.
const UserChannel = "rolegate_users"

// Defaults of the user cache.
const (
	// DefaultUserCacheTTL bounds how long a cached user is served: a
	// backstop under the invalidations, for a write no invalidation
	// reached (a SQLite CLI command in another process, a notification
	// lost on a connection that died silently).
	DefaultUserCacheTTL = 2 * time.Second
	// DefaultUserCacheSize bounds the number of cached users.
	DefaultUserCacheSize = 10000
)

// userCache holds users read by id for the authentication path. Entries
// are dropped on every write to their user (in this process directly, in
// others through UserChannel), expire after ttl, and are neither served
// nor stored while the cache is not live: on PostgreSQL, while no
// listener is connected, since notifications would be missed.
//
// gen counts invalidations. A read from the database stores its result
// only if no invalidation happened since the read began, so a read that
// raced with a write cannot put the old row back after the write's
// invalidation.
type userCache struct {
	mu      sync.RWMutex
	entries map[int64]cachedUser
	gen     uint64
	live    bool
	ttl     time.Duration
	size    int
	now     func() time.Time
}

type cachedUser struct {
	user    models.User
	expires time.Time
	// refreshing is set by the first hit in the last part of the entry's
	// life, which reads the user again in the background: see get.
	refreshing *atomic.Bool
	// access holds the user's standing in the tenants asked about by
	// reference (slug or id), with the tenant: see TenantAccess. It goes
	// with the user's entry, so every invalidation of the user drops it.
	access map[string]cachedAccess
}

// cachedAccess is a tenant and a user's standing in it, as TenantAccess
// read them.
type cachedAccess struct {
	tenant   models.Tenant
	standing models.TenantContext
	expires  time.Time
}

// maxAccessPerUser caps the tenants cached per user; a user asked about
// in more loses an arbitrary one for each new one.
const maxAccessPerUser = 64

func newUserCache(live bool, ttl time.Duration, size int) *userCache {
	if ttl == 0 {
		ttl = DefaultUserCacheTTL
	}
	if size == 0 {
		size = DefaultUserCacheSize
	}
	return &userCache{entries: map[int64]cachedUser{}, live: live, ttl: ttl, size: size, now: time.Now}
}

// refreshAhead is the last part of an entry's life in which a hit reads
// the user again in the background, so that a user asked about steadily
// is never a miss: as a fraction of the TTL.
const refreshAhead = 4 // the last quarter

// get returns a copy of the cached user id, and whether the caller is to
// read the user again ahead of the entry's expiry: true for the first hit
// in the entry's last quarter.
func (c *userCache) get(id int64) (u *models.User, refresh, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[id]
	now := c.now()
	if !c.live || !ok || !now.Before(e.expires) {
		return nil, false, false
	}
	refresh = !now.Before(e.expires.Add(-c.ttl/refreshAhead)) && e.refreshing.CompareAndSwap(false, true)
	return copyUser(&e.user), refresh, true
}

// generation is the generation to pass to put for a read that starts now.
func (c *userCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores u if the cache is live and nothing was invalidated since gen.
func (c *userCache) put(u *models.User, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || gen != c.gen || c.ttl < 0 {
		return
	}
	if _, ok := c.entries[u.ID]; !ok && len(c.entries) >= c.size {
		c.evict()
	}
	c.entries[u.ID] = cachedUser{user: *copyUser(u), expires: c.now().Add(c.ttl), refreshing: new(atomic.Bool)}
}

// getAccess returns user id's cached access to the tenant ref names, or,
// on a miss, the generation to pass to putAccess.
func (c *userCache) getAccess(id int64, ref string) (cachedAccess, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[id]
	now := c.now()
	if !c.live || !ok || !now.Before(e.expires) {
		return cachedAccess{}, c.gen, false
	}
	a, ok := e.access[ref]
	if !ok || !now.Before(a.expires) {
		return cachedAccess{}, c.gen, false
	}
	return a, 0, true
}

// putAccess stores a beside user id's cached entry, if there is one and
// nothing was invalidated since gen. It expires with the user's entry.
func (c *userCache) putAccess(id int64, ref string, a cachedAccess, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !c.live || gen != c.gen || !ok {
		return
	}
	if e.access == nil {
		e.access = map[string]cachedAccess{}
	}
	if _, ok := e.access[ref]; !ok && len(e.access) >= maxAccessPerUser {
		for k := range e.access {
			delete(e.access, k)
			break
		}
	}
	a.expires = e.expires
	e.access[ref] = a
	c.entries[id] = e
}

// evict makes room: it drops expired entries, or else any one entry.
func (c *userCache) evict() {
	now := c.now()
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	for id := range c.entries {
		if len(c.entries) < c.size {
			return
		}
		delete(c.entries, id)
	}
}

// invalidate drops user id.
func (c *userCache) invalidate(ids ...int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range ids {
		delete(c.entries, id)
	}
}

// clearAll empties the cache, leaving it on or off.
func (c *userCache) clearAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// setLive empties the cache and turns it on or off.
func (c *userCache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.live = live
}

func (c *userCache) isLive() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live
}

func copyUser(u *models.User) *models.User {
	out := *u
	out.Groups = slices.Clone(u.Groups)
	if u.LastLogin != nil {
		t := *u.LastLogin
		out.LastLogin = &t
	}
	return &out
}

// CurrentUser is UserByID for the authentication path, through the user
// cache, with the user's groups: a cached user is at most the cache's TTL
// old, and never older than the last write to it or to its groups that
// this process made or (on PostgreSQL) was notified of. A miss is read
// with the misses of other requests in flight (see userLoader); a hit
// near the entry's expiry reads the user again in the background, so that
// a user asked about steadily stays cached. Returns ENOTFOUND, which is
// never cached.
func (s *Store) CurrentUser(ctx context.Context, id int64) (*models.User, error) {
	u, refresh, ok := s.users.get(id)
	if refresh {
		s.loader.refresh(id)
	}
	if ok {
		return u, nil
	}
	return s.loader.load(ctx, id)
}

// UserCacheLive reports whether the user cache is serving: always on
// SQLite, and on PostgreSQL while FollowUserChanges is listening.
func (s *Store) UserCacheLive() bool { return s.users.isLive() }

// notifyUsers announces, inside tx, a write to each of ids on UserChannel.
// PostgreSQL delivers the notifications when tx commits, and not at all
// if it rolls back.
func (s *Store) notifyUsers(tx *gorm.DB, ids ...int64) error {
	for _, id := range ids {
		if err := s.dialect.notify(tx, UserChannel, strconv.FormatInt(id, 10)); err != nil {
			return err
		}
	}
	return nil
}

// notifyEveryUser announces, inside tx, a write that concerns every
// cached user: a change to a tenant, which every user's cached access to
// it holds. Replicas empty their whole cache on it, as on any payload that
// is not an id.
func (s *Store) notifyEveryUser(tx *gorm.DB) error {
	return s.dialect.notify(tx, UserChannel, "*")
}

// userListenRetryMax caps the wait before FollowUserChanges reconnects.
const userListenRetryMax = 10 * time.Second

// FollowUserChanges keeps the user cache in step with writes made by
// other processes until ctx is done. On PostgreSQL it LISTENs on
// UserChannel on a connection of its own (named appName), dropping each
// announced user; the cache is live only while that connection is up, and
// emptied whenever it goes up or down, so nothing a missed notification
// would have dropped is ever served. It reconnects with backoff, calling
// onError with each failure. On SQLite it returns at once: one process
// owns the file, its writes invalidate directly.
func (s *Store) FollowUserChanges(ctx context.Context, appName string, onError func(err error, retry time.Duration)) {
	if !s.dialect.notifies() {
		return
	}
	connect := func(ctx context.Context) (*Listener, error) { return s.listen(ctx, appName, UserChannel) }
	serve := func(ctx context.Context, l *Listener) error {
		s.users.setLive(true)
		defer s.users.setLive(false)
		return s.dropNotifiedUsers(ctx, l)
	}
	repeat.Reconnect(ctx, userListenRetryMax, connect, serve, onError)
}

// dropNotifiedUsers drops each user announced on l until l fails. A
// payload that is not an id empties the whole cache.
func (s *Store) dropNotifiedUsers(ctx context.Context, l *Listener) error {
	for {
		payload, err := l.Wait(ctx)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(payload, 10, 64)
		if err != nil {
			s.users.setLive(true)
			continue
		}
		s.users.invalidate(id)
	}
}
