// Package store keeps users and sessions in SQLite or PostgreSQL through
// GORM. Row types are unexported; callers see only models.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/models"
)

// Options tune the connection pool.
type Options struct {
	// MaxConns caps open connections; 0 picks a default per dialect.
	MaxConns int
	// OpTimeout bounds each store call; 0 means 5 seconds.
	OpTimeout time.Duration
	// UserCacheTTL bounds the age of a user served by CurrentUser; 0
	// means DefaultUserCacheTTL, and a negative value turns the cache off.
	UserCacheTTL time.Duration
	// UserCacheSize caps the users cached; 0 means DefaultUserCacheSize.
	UserCacheSize int
}

// Store is rolegate's storage.
type Store struct {
	db        *gorm.DB
	pool      *sql.DB // db's, for the hand-written statements
	dialect   dialect
	dsn       string // for connections of their own, such as a LISTEN
	opTimeout time.Duration
	users     *userCache  // CurrentUser's; see usercache.go
	loader    *userLoader // the cache's misses; see userloader.go
}

// Open connects to the database named by databaseURL: "postgres://..." (or
// "postgresql://...") for PostgreSQL, "sqlite:PATH" for SQLite, whose file
// and folder are created if missing. It does not migrate.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	name, dsn, err := parseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		TranslateError:         true,
		SkipDefaultTransaction: true,
		// No PrepareStmt: pgx already prepares and caches each statement
		// per connection, and GORM's own prepared statements are
		// re-prepared on a transaction's connection and deallocated at
		// commit, three round trips per statement instead of one.
		NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	d := dialects[name]
	dialector, err := d.open(dsn)
	if err != nil {
		return nil, err
	}
	maxConns := opts.MaxConns
	if maxConns == 0 {
		maxConns = d.maxConns
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", name, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	// Where other processes' writes are announced, the cache waits for
	// FollowUserChanges to listen.
	users := newUserCache(!d.notifies(), opts.UserCacheTTL, opts.UserCacheSize)
	s := &Store{db: db, pool: sqlDB, dialect: d, dsn: dsn, opTimeout: opts.OpTimeout, users: users}
	if s.opTimeout == 0 {
		s.opTimeout = 5 * time.Second
	}
	s.loader = newUserLoader(users, s.usersWithGroups)
	if err := s.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", name, err)
	}
	return s, nil
}

func parseURL(databaseURL string) (dialectName, dsn string, err error) {
	switch {
	case strings.HasPrefix(databaseURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "//")
		if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" {
			return "", "", fmt.Errorf("database URL %q: want sqlite:PATH to a file, with no ? or #", databaseURL)
		}
		return SQLite, path, nil
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		if _, err := url.Parse(databaseURL); err != nil {
			return "", "", fmt.Errorf("database URL: %w", err)
		}
		return Postgres, databaseURL, nil
	}
	return "", "", fmt.Errorf("database URL %q: want postgres://... or sqlite:PATH", config.RedactURL(databaseURL))
}

// Dialect returns SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect.name }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return models.Unavailable(err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	// A closed store answers nothing, not even from the user cache: a
	// request must fail closed rather than pass on a cached user.
	s.users.setLive(false)
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

// conn returns a session bound to ctx and the store's operation timeout.
func (s *Store) conn(ctx context.Context) (*gorm.DB, context.CancelFunc) {
	ctx, cancel := s.bound(ctx)
	return s.db.WithContext(ctx), cancel
}

// tx runs fn in a transaction bound to ctx.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	return db.Transaction(fn)
}

// dbError turns a database error into a domain error. Errors that already
// are domain errors pass through; anything unexpected means the database
// is not working, which clients see as EUNAVAILABLE.
func dbError(err error) error {
	var e *models.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return models.Errorf(models.ENOTFOUND, "Not found.")
	}
	return models.Unavailable(err)
}
