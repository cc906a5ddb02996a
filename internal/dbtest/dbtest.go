// Package dbtest gives tests fresh databases: SQLite always, and
// PostgreSQL when ROLEGATE_TEST_DATABASE_URL is set, so that one suite
// runs on every database rolegate supports.
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
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the variable that holds a PostgreSQL URL for tests.
const EnvURL = "ROLEGATE_TEST_DATABASE_URL"

// Target is one database to run a suite against.
type Target struct {
	Name string // "sqlite" or "postgres"
	URL  string // a rolegate database URL
}

// Fresh returns a new empty database for each dialect under test, and a
// function that removes them all. dir holds the SQLite file.
func Fresh(dir string) ([]Target, func(), error) {
	targets := []Target{{Name: "sqlite", URL: "sqlite:" + filepath.Join(dir, "rolegate-"+strings.ToLower(rand.Text()[:8])+".db")}}
	base := os.Getenv(EnvURL)
	if base == "" {
		return targets, func() {}, nil
	}
	pg, drop, err := freshSchema(base)
	if err != nil {
		return nil, nil, err
	}
	return append(targets, Target{Name: "postgres", URL: pg}), drop, nil
}

// Targets is Fresh for one test; the databases go when the test ends.
func Targets(tb testing.TB) []Target {
	tb.Helper()
	targets, drop, err := Fresh(tb.TempDir())
	if err != nil {
		tb.Fatalf("test databases: %v", err)
	}
	tb.Cleanup(drop)
	return targets
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
		return "", nil, fmt.Errorf("create schema on %s: %w", EnvURL, err)
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
