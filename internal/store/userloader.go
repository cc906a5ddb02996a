package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
	"sync"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// groupSeparator joins a user's group names in one column: no group name
// holds it (models.ValidateGroupName).
const groupSeparator = ":"

// selectUsersWithGroups reads whole users with their groups, sorted and
// joined by groupSeparator (NULL for none), in one statement: the
// authentication path once read the groups in a second query, which
// halved what a request that missed the user cache could do. string_agg
// with ORDER BY runs on PostgreSQL and on SQLite since 3.44. A WHERE
// clause on users follows.
const selectUsersWithGroups = `SELECT ` + userColumns + `,
	(SELECT string_agg(g.group_name, '` + groupSeparator + `' ORDER BY g.group_name) FROM user_groups g WHERE g.user_id = users.id)
	FROM users`

// maxUserBatch bounds the ids one read of the user loader asks for.
const maxUserBatch = 64

// maxUserReads bounds the user loader's reads in flight at once. With one,
// every miss that comes while a read is in flight waits for the next:
// cold-token GET /me/ ran at 3,219 req/s with one and 3,436 with four, the
// check at 4,103 and 4,078, within the noise (docs/performance.md, "The
// user read on the request path").
const maxUserReads = 1

// usersByIDSQL holds, at index k, the read of 2^k users by id: a batch is
// padded to a power of two (repeating an id), so that PostgreSQL prepares
// a handful of statements, not one per batch size.
var usersByIDSQL = func() []string {
	var out []string
	for n := 1; n <= maxUserBatch; n *= 2 {
		params := make([]string, n)
		for i := range params {
			params[i] = fmt.Sprintf("$%d", i+1)
		}
		out = append(out, selectUsersWithGroups+` WHERE id IN (`+strings.Join(params, ", ")+`)`)
	}
	return out
}()

// usersWithGroups reads the users ids name (at most maxUserBatch) with
// their groups, in one statement. Ids with no user are absent from the
// result. It is bounded by the store's timeout, not by a request's
// context: the user loader's reads answer several requests.
func (s *Store) usersWithGroups(ids []int64) (map[int64]*models.User, error) {
	ctx, cancel := s.bound(context.Background())
	defer cancel()
	k := bits.Len(uint(len(ids) - 1))
	args := make([]any, 1<<k)
	for i := range args {
		args[i] = ids[min(i, len(ids)-1)]
	}
	out := make(map[int64]*models.User, len(ids))
	var groups sql.NullString
	err := s.dialect.query(ctx, s.pool, stmt{sql: usersByIDSQL[k], args: args, read: func(r rows) error {
		u, err := scanUser(r, &groups)
		if err != nil {
			return err
		}
		if groups.Valid {
			u.Groups = strings.Split(groups.String, groupSeparator)
		}
		out[u.ID] = u
		return nil
	}})
	return out, err
}

// userLoader coalesces the user cache's misses. The first miss is read at
// once; misses that come while a read is in flight wait for it to end and
// then go together, up to maxUserBatch, in one read. A miss never joins a
// read already sent: that read may have seen the user before a write whose
// invalidation came after it was sent but before the miss.
//
// A read's users go into the cache unless an invalidation came after the
// read was sent (see userCache).
type userLoader struct {
	cache *userCache
	// read reads a batch of users; ids with no user are absent.
	read func(ids []int64) (map[int64]*models.User, error)

	mu      sync.Mutex
	reads   int // in flight
	queue   []int64
	waiting map[int64]*pendingUser // queued ids, not yet sent
}

// pendingUser is one queued id's answer, given when done is closed.
type pendingUser struct {
	done chan struct{}
	user *models.User
	err  error
}

func newUserLoader(cache *userCache, read func(ids []int64) (map[int64]*models.User, error)) *userLoader {
	return &userLoader{cache: cache, read: read, waiting: map[int64]*pendingUser{}}
}

// load returns user id as a read sent after this call began, or
// ENOTFOUND. Callers get their own copy.
func (l *userLoader) load(ctx context.Context, id int64) (*models.User, error) {
	p, send := l.enqueue(id)
	if send {
		l.flush()
	}
	select {
	case <-p.done:
		if p.err != nil {
			return nil, p.err
		}
		return copyUser(p.user), nil
	case <-ctx.Done():
		return nil, models.Unavailable(ctx.Err())
	}
}

// refresh reads user id again in the background, for the cache.
func (l *userLoader) refresh(id int64) {
	if _, send := l.enqueue(id); send {
		go l.flush()
	}
}

// enqueue queues id for the next read, unless it is queued already, and
// returns its answer to come. send tells the caller to flush: a read is
// free.
func (l *userLoader) enqueue(id int64) (p *pendingUser, send bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.waiting[id]
	if !ok {
		p = &pendingUser{done: make(chan struct{})}
		l.waiting[id] = p
		l.queue = append(l.queue, id)
	}
	send = l.reads < maxUserReads
	if send {
		l.reads++
	}
	return p, send
}

// flush reads the next batch of queued ids and answers their waiters,
// and goes on while ids are queued, in a goroutine of its own so that its
// caller gets its answer at once. It holds one of maxUserReads, and gives
// it back when nothing is queued.
func (l *userLoader) flush() {
	ids, batch := l.take()
	if len(ids) == 0 {
		return
	}
	gen := l.cache.generation()
	users, err := l.readBatch(ids)
	for _, u := range users {
		l.cache.put(u, gen)
	}
	for i, p := range batch {
		p.user, p.err = users[ids[i]], dbError(err)
		if err == nil && p.user == nil {
			p.err = dbError(gorm.ErrRecordNotFound)
		}
		close(p.done)
	}
	if l.more() {
		go l.flush()
	}
}

// readBatch is read with a panic turned into an error: the batch's
// waiters are still answered and the loader's read given back, so that one
// failed read cannot leave every later miss waiting.
func (l *userLoader) readBatch(ids []int64) (users map[int64]*models.User, err error) {
	defer func() {
		if r := recover(); r != nil {
			users, err = nil, fmt.Errorf("read users %v: panic: %v", ids, r)
		}
	}()
	return l.read(ids)
}

// more reports whether ids are queued; when none are, it gives back the
// read that flush held.
func (l *userLoader) more() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue) > 0 {
		return true
	}
	l.reads--
	l.queue = nil
	return false
}

// take dequeues the next batch, up to maxUserBatch ids, with their
// waiters. When none are queued, it gives back its read.
func (l *userLoader) take() ([]int64, []*pendingUser) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(len(l.queue), maxUserBatch)
	if n == 0 {
		l.reads--
		l.queue = nil
		return nil, nil
	}
	ids := l.queue[:n:n]
	l.queue = l.queue[n:]
	batch := make([]*pendingUser, n)
	for i, id := range ids {
		batch[i] = l.waiting[id]
		delete(l.waiting, id)
	}
	return ids, batch
}
