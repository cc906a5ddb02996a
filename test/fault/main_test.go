//go:build fault

// Package fault_test runs the real rolegate binary under sustained load and
// through faults: a PostgreSQL outage, a SIGKILL in the middle of writes,
// and a graceful shutdown with requests in flight. It needs a private
// PostgreSQL cluster it may stop, named by ROLEGATE_FAULT_PG_CLUSTER as
// VERSION/NAME/PORT (such as 15/rgfault/55439); the tests create that
// cluster, dropping any leftover of the same name first, and drop it at the
// end. Run with: go test -race -tags fault -count=1 ./test/fault/
package fault_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvCluster names the variable that describes the private cluster.
const EnvCluster = "ROLEGATE_FAULT_PG_CLUSTER"

var (
	binary  string     // the rolegate binary under test
	cluster *pgCluster // the private PostgreSQL cluster
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	spec := os.Getenv(EnvCluster)
	if spec == "" {
		fmt.Printf("fault tests skipped: set %s=VERSION/NAME/PORT (such as 15/rgfault/55439) to a PostgreSQL cluster they may create, stop and drop\n", EnvCluster)
		return 0
	}
	c, err := parseCluster(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "rolegate-fault-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if binary, err = build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := c.create(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		c.drop()
		return 1
	}
	defer c.drop()
	cluster = c
	return m.Run()
}

// build compiles cmd/rolegate into dir, with the race detector when the
// tests have it, so that races under load fail the tests too.
func build(dir string) (string, error) {
	bin := filepath.Join(dir, "rolegate")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../../cmd/rolegate")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// pgCluster is a PostgreSQL cluster managed by Debian's pg_*cluster tools.
type pgCluster struct {
	version, name string
	port          int
}

func parseCluster(spec string) (*pgCluster, error) {
	parts := strings.Split(spec, "/")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%s=%q: want VERSION/NAME/PORT", EnvCluster, spec)
	}
	port, err := strconv.Atoi(parts[2])
	if err != nil || port < 1024 || port == 5432 {
		return nil, fmt.Errorf("%s=%q: want a private port above 1024 other than 5432", EnvCluster, spec)
	}
	return &pgCluster{version: parts[0], name: parts[1], port: port}, nil
}

// create makes a fresh cluster with trust authentication and starts it. A
// leftover cluster of the same name from an earlier run is dropped first.
func (c *pgCluster) create() error {
	c.drop()
	out, err := exec.Command("pg_createcluster", c.version, c.name, "-p", strconv.Itoa(c.port), "--", "--auth=trust").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_createcluster: %v\n%s", err, out)
	}
	if err := c.ctl("start"); err != nil {
		return err
	}
	return c.waitUp(30 * time.Second)
}

// drop stops and removes the cluster, if it exists.
func (c *pgCluster) drop() {
	exec.Command("pg_dropcluster", "--stop", c.version, c.name).Run()
}

// ctl runs pg_ctlcluster's start or stop; stop is its default "fast" mode,
// which ends every connection at once.
func (c *pgCluster) ctl(action string) error {
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", c.version, c.name, action).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
	return nil
}

// url is a rolegate database URL for database db of the cluster.
func (c *pgCluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// waitUp polls until the cluster answers a query.
func (c *pgCluster) waitUp(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.exec("postgres", "SELECT 1")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster %s/%s not up after %v: %w", c.version, c.name, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exec runs one statement on database db.
func (c *pgCluster) exec(db, stmt string, args ...any) error {
	conn, err := sql.Open("pgx", c.url(db))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = conn.ExecContext(ctx, stmt, args...)
	return err
}

// freshDatabase creates an empty database for one test and returns its URL.
func freshDatabase(t *testing.T) string {
	t.Helper()
	name := "fault_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	if err := cluster.exec("postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.exec("postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return cluster.url(name)
}

// openDB opens url for the test's own checks of what is stored.
func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
