package server

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rolegate/rolegate/internal/repeat"
	"github.com/rolegate/rolegate/internal/store"
)

// How a database-mode server follows published policy versions.
const (
	// PublishedSafetyPoll is how often a PostgreSQL replica compares the
	// newest published version with its own even while it is listening:
	// a net under a notification lost in a way the listener did not see.
	PublishedSafetyPoll = 30 * time.Second
	// PublishedSQLitePoll is how often a SQLite server, which has no
	// notifications, looks for a new version.
	PublishedSQLitePoll = time.Second
	// listenRetryMax caps the wait before the listener reconnects.
	listenRetryMax = 30 * time.Second
)

// NotifyTrigger is the reload trigger of a version found in the database.
const NotifyTrigger = "notify"

// ListenerName is the application_name of this process's LISTEN
// connection, as pg_stat_activity shows it.
func ListenerName() string { return fmt.Sprintf("rolegate-policy-listener-%d", os.Getpid()) }

// follower reloads the policy when a version newer than the last one it
// acted on is published. Notifications, reconnections and the poll all
// end in check, which costs one small query when nothing changed.
type follower struct {
	s    *Server
	mu   sync.Mutex
	seen int64 // id of the newest version row acted on
}

// check reloads the policy if the newest published row is not the one
// last acted on. A row that fails its tests is tried once, not on every
// poll: the previous policy keeps serving until a newer row is published.
func (f *follower) check(ctx context.Context, why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, err := f.s.Store.LatestPolicyVersionID(ctx)
	if err != nil {
		f.s.log.Warn("look for a new policy version", "err", err)
		return
	}
	if id == f.seen {
		return
	}
	f.s.log.Info("new policy version published", "row", id, "seen_by", why)
	f.seen = id
	f.s.Policy.Reload(ctx, NotifyTrigger)
}

// followPublished keeps the policy in step with the newest published
// version until ctx is done: on PostgreSQL by LISTEN, with a slow poll as
// a safety net; on SQLite, a single host, by a fast poll.
func (s *Server) followPublished(ctx context.Context) {
	f := &follower{s: s}
	if p := s.Policy.Current().Source().Published; p != nil {
		f.seen = p.ID
	}
	interval := PublishedSQLitePoll
	if s.Store.Dialect() == store.Postgres {
		interval = PublishedSafetyPoll
		go s.listenPublished(ctx, f)
	}
	repeat.Every(ctx, interval, func() { f.check(ctx, "poll") })
}

// listenPublished holds a LISTEN connection open, reconnecting with
// backoff when it fails. On every (re)connection it checks for a version
// published while it was not listening, since those notifications are
// lost.
func (s *Server) listenPublished(ctx context.Context, f *follower) {
	connect := func(ctx context.Context) (*store.Listener, error) {
		return s.Store.ListenPolicy(ctx, ListenerName())
	}
	serve := func(ctx context.Context, l *store.Listener) error {
		s.log.Info("listening for policy versions", "application_name", ListenerName())
		f.check(ctx, "connect")
		return s.waitNotifications(ctx, l, f)
	}
	repeat.Reconnect(ctx, listenRetryMax, connect, serve, func(err error, wait time.Duration) {
		s.log.Warn("policy listener failed; reconnecting", "err", err, "in", wait.String())
	})
}

// waitNotifications checks for a new version on every notification until
// the connection fails.
func (s *Server) waitNotifications(ctx context.Context, l *store.Listener, f *follower) error {
	for {
		if _, err := l.Wait(ctx); err != nil {
			return err
		}
		f.check(ctx, "notify")
	}
}

// UserListenerName is the application_name of this process's LISTEN
// connection for user changes.
func UserListenerName() string { return fmt.Sprintf("rolegate-user-listener-%d", os.Getpid()) }

// followUsers keeps the store's user cache in step with writes made by
// other replicas, from New until the returned function is called (by
// Close). Until the listener connects, the cache is bypassed.
func (s *Server) followUsers() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Store.FollowUserChanges(ctx, UserListenerName(), func(err error, retry time.Duration) {
			s.log.Warn("user cache listener failed; the cache is off until it reconnects", "err", err, "in", retry.String())
		})
	}()
	return func() {
		cancel()
		<-done
	}
}
