package store

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
)

// TestUpgradeFromGormigrate builds a database as releases before goose
// left it (schema_migrations, gormigrate's table, naming 0001-0008) with a
// user in it, and opens it with this release: it migrates to the newest
// without running 0001-0008 again, and the user survives.
func TestUpgradeFromGormigrate(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s, err := Open(ctx, target.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			gormigrateUpTo(t, s, "0000", "0007_account_keys")
			joined := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
			if err := s.db.Exec(`INSERT INTO users (username, username_key, email, role, is_active, password_hash, account_key, date_joined)
				VALUES ('Ann', 'ann', 'ann@example.com', 'admin', TRUE, 'x', 'KEY', ?)`, joined).Error; err != nil {
				t.Fatal(err)
			}
			gormigrateUpTo(t, s, "0007_account_keys", "0008_username_skeleton")

			// A status first: it must see 0001-0008 as applied, and only
			// the migrations after them as pending.
			newer := pendingAfter(t, s, "0008_username_skeleton")
			if n, err := s.Pending(ctx); err != nil || n != len(newer) {
				t.Fatalf("pending before the first goose migrate: got %d, %v; want %d %v", n, err, len(newer), newer)
			}
			ran, err := s.MigrateUp(ctx)
			if err != nil || !reflect.DeepEqual(ran, newer) {
				t.Fatalf("first goose migrate: got %v, %v; want only %v", ran, err, newer)
			}
			if s.db.Migrator().HasTable(gormigrateTable) {
				t.Errorf("got %s still there, want it dropped once adopted", gormigrateTable)
			}
			var versions []int64
			if err := s.db.Table(gooseTable).Order("id").Pluck("version_id", &versions).Error; err != nil {
				t.Fatal(err)
			}
			want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8}
			for _, id := range newer {
				want = append(want, migrationVersion(t, id))
			}
			if !slices.Equal(versions, want) {
				t.Errorf("%s: got versions %v, want %v", gooseTable, versions, want)
			}
			u, err := s.UserByUsername(ctx, "ANN")
			if err != nil || u.Email != "ann@example.com" || u.AccountKey != "KEY" || !u.DateJoined.Equal(joined) {
				t.Fatalf("user after the upgrade: got %+v, %v; want Ann as stored", u, err)
			}
			if _, err := s.CreateUser(ctx, &models.User{Username: "аnn", Role: "user", PasswordHash: "x"}); models.ErrorCode(err) != models.EINVALID {
				t.Errorf("a lookalike of Ann after the upgrade: got %v, want EINVALID", err)
			}
			newest := newer[len(newer)-1]
			if undone, err := s.MigrateDown(ctx); err != nil || undone != newest {
				t.Fatalf("down: got %q, %v; want %s", undone, err, newest)
			}
			if n, err := s.Pending(ctx); err != nil || n != 1 {
				t.Fatalf("pending after down: got %d, %v; want 1", n, err)
			}
			if ran, err := s.MigrateUp(ctx); err != nil || !reflect.DeepEqual(ran, []string{newest}) {
				t.Fatalf("up again: got %v, %v; want only %s", ran, err, newest)
			}
		})
	}
}

// gormigrateUpTo brings the schema to migration id, from where it
// stands, as releases before goose did: it runs the migrations after
// from up to id (their SQL, and 0008's Go, are as those releases shipped
// them) without goose's table, and records each in schema_migrations as
// gormigrate did.
func gormigrateUpTo(t *testing.T, s *Store, from, id string) {
	t.Helper()
	var first, last int64
	fmt.Sscanf(from, "%04d_", &first)
	fmt.Sscanf(id, "%04d_", &last)
	files, err := fs.Sub(migrationFiles, "migrations/"+s.dialect.name)
	if err != nil {
		t.Fatal(err)
	}
	opts := []goose.ProviderOption{goose.WithDisableVersioning(true), goose.WithDisableGlobalRegistry(true)}
	for v := int64(1); v <= 99; v++ {
		if v == 8 && first < 8 && 8 <= last {
			opts = append(opts, goose.WithGoMigrations(s.usernameSkeletonMigration()))
		} else if v <= first || v > last {
			opts = append(opts, goose.WithExcludeVersions([]int64{v}))
		}
	}
	p, err := goose.NewProvider(s.dialect.goose, s.pool, files, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ran, err := p.Up(context.Background())
	if err != nil {
		t.Fatalf("migrations up to %s: %v", id, err)
	}
	if err := s.db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (id VARCHAR(255) PRIMARY KEY)`).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range ran {
		if err := s.db.Exec(`INSERT INTO schema_migrations (id) VALUES (?)`, migrationID(r.Source)).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// pendingAfter lists, from s's migration status, the migrations after
// last, failing the test unless exactly those are pending.
func pendingAfter(t *testing.T, s *Store, last string) []string {
	t.Helper()
	status, err := s.MigrationStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var newer []string
	for _, m := range status {
		if after := m.ID > last; after == m.Applied {
			t.Fatalf("migration %s: got applied %v, want %v", m.ID, m.Applied, !after)
		}
		if !m.Applied {
			newer = append(newer, m.ID)
		}
	}
	if len(newer) == 0 {
		t.Fatalf("got no migration after %s, want at least one to upgrade to", last)
	}
	return newer
}

// migrationVersion is the version goose records for migration id
// ("0009_tenants" is 9).
func migrationVersion(t *testing.T, id string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(strings.SplitN(id, "_", 2)[0], 10, 64)
	if err != nil {
		t.Fatalf("migration %q: %v", id, err)
	}
	return v
}
