// Package dbtest gives tests fresh databases: SQLite always, and
// PostgreSQL when ROLEGATE_TEST_DATABASE_URL is set or, when it is not,
// when one answers at 127.0.0.1:5432, so that one suite runs on every
// database rolegate supports.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the variable that holds a PostgreSQL URL for tests, or
// "none" for SQLite only.
const EnvURL = "ROLEGATE_TEST_DATABASE_URL"

// LocalURL is the PostgreSQL tried when EnvURL is unset: the local
// server's "test" database, as user postgres. The tests never write to it;
// they create a database of their own beside it.
const LocalURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SkippedLocal is what the tests say when EnvURL is unset and no
// PostgreSQL answers at LocalURL.
const SkippedLocal = "skipped PostgreSQL: none at 127.0.0.1:5432"

// Target is one database to run a suite against.
type Target struct {
	Name string // "sqlite" or "postgres"
	URL  string // a rolegate database URL
}

// Fresh returns a new empty database for each dialect under test, and a
// function that removes them all. dir holds the SQLite file. When it
// runs on SQLite only because no local PostgreSQL answered, it says so
// on stderr, once per process.
func Fresh(dir string) ([]Target, func(), error) {
	targets := []Target{{Name: "sqlite", URL: "sqlite:" + filepath.Join(dir, "rolegate-"+strings.ToLower(rand.Text()[:8])+".db")}}
	base, release, err := postgresBase()
	if err != nil {
		return nil, nil, err
	}
	if base == "" {
		if os.Getenv(EnvURL) == "none" {
			return targets, func() {}, nil
		}
		skipOnce.Do(func() { fmt.Fprintln(os.Stderr, "dbtest: "+SkippedLocal) })
		return targets, func() {}, nil
	}
	pg, drop, err := freshSchema(base)
	if err != nil {
		release()
		return nil, nil, err
	}
	return append(targets, Target{Name: "postgres", URL: pg}), func() { drop(); release() }, nil
}

var skipOnce sync.Once

// Targets is Fresh for one test; the databases go when the test ends.
func Targets(tb testing.TB) []Target {
	tb.Helper()
	targets, drop, err := Fresh(tb.TempDir())
	if err != nil {
		tb.Fatalf("test databases: %v", err)
	}
	tb.Cleanup(drop)
	if len(targets) == 1 && os.Getenv(EnvURL) != "none" {
		tb.Log(SkippedLocal)
	}
	return targets
}

// Postgres returns a fresh PostgreSQL database for one test, or skips the
// test when there is none to test on.
func Postgres(tb testing.TB) Target {
	tb.Helper()
	for _, target := range Targets(tb) {
		if target.Name == "postgres" {
			return target
		}
	}
	tb.Skipf("PostgreSQL only: set %s, or run PostgreSQL at 127.0.0.1:5432", EnvURL)
	return Target{}
}

// postgresBase returns the database in which Fresh makes its schemas,
// and a function to call when they are dropped; "" when there is none.
// With EnvURL set, that is the database it names, which belongs to
// whoever set it. Otherwise it is a database of this process's own on
// the local server, created on first use and dropped when the last
// schema in it is.
func postgresBase() (string, func(), error) {
	switch u := os.Getenv(EnvURL); u {
	case "none":
		return "", func() {}, nil
	case "":
		return local.acquire()
	default:
		return u, func() {}, nil
	}
}

// localDB is this process's database on the local PostgreSQL.
type localDB struct {
	probe   sync.Once
	answers bool
	mu      sync.Mutex
	users   int    // Fresh results not yet dropped
	url     string // "" while there is none
	admin   *sql.DB
	name    string
}

var local localDB

// acquire returns the process's database, creating it if need be.
func (l *localDB) acquire() (string, func(), error) {
	l.probe.Do(func() { l.admin, l.answers = connectLocal() })
	if !l.answers {
		return "", func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.url == "" {
		name := "rg_test_" + strings.ToLower(rand.Text()[:12])
		if _, err := l.admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
			return "", nil, fmt.Errorf("create database at %s: %w", LocalURL, err)
		}
		u, _ := url.Parse(LocalURL)
		u.Path = "/" + name
		l.url, l.name = u.String(), name
	}
	l.users++
	return l.url, l.release, nil
}

// release drops the database once nothing uses it.
func (l *localDB) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users--; l.users > 0 {
		return
	}
	l.admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+l.name+" WITH (FORCE)")
	l.url, l.name = "", ""
}

// connectLocal connects to LocalURL, and reports whether it answered.
func connectLocal() (*sql.DB, bool) {
	db, err := sql.Open("pgx", LocalURL+"&connect_timeout=2")
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, false
	}
	return db, true
}

// freshSchema creates a schema with a random name in the database at base
// and returns a URL whose connections use it, so that test packages running
// in parallel on one database never see each other's tables.
func freshSchema(base string) (string, func(), error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := "rg_" + strings.ToLower(rand.Text()[:12])
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema in the test database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}
	return u.String(), drop, nil
}
