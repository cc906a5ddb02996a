package store

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
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

			// A status first: it must see 0001-0008 as applied.
			if n, err := s.Pending(ctx); err != nil || n != 1 {
				t.Fatalf("pending before the first goose migrate: got %d, %v; want 1 (0009)", n, err)
			}
			ran, err := s.MigrateUp(ctx)
			if err != nil || !reflect.DeepEqual(ran, []string{"0009_tenants"}) {
				t.Fatalf("first goose migrate: got %v, %v; want only 0009_tenants", ran, err)
			}
			if s.db.Migrator().HasTable(gormigrateTable) {
				t.Errorf("got %s still there, want it dropped once adopted", gormigrateTable)
			}
			var versions []int64
			if err := s.db.Table(gooseTable).Order("id").Pluck("version_id", &versions).Error; err != nil {
				t.Fatal(err)
			}
			if want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(versions, want) {
				t.Errorf("%s: got versions %v, want %v", gooseTable, versions, want)
			}
			u, err := s.UserByUsername(ctx, "ANN")
			if err != nil || u.Email != "ann@example.com" || u.AccountKey != "KEY" || !u.DateJoined.Equal(joined) {
				t.Fatalf("user after the upgrade: got %+v, %v; want Ann as stored", u, err)
			}
			if _, err := s.CreateUser(ctx, &models.User{Username: "аnn", Role: "user", PasswordHash: "x"}); models.ErrorCode(err) != models.EINVALID {
				t.Errorf("a lookalike of Ann after the upgrade: got %v, want EINVALID", err)
			}
			if undone, err := s.MigrateDown(ctx); err != nil || undone != "0009_tenants" {
				t.Fatalf("down: got %q, %v; want 0009_tenants", undone, err)
			}
			if n, err := s.Pending(ctx); err != nil || n != 1 {
				t.Fatalf("pending after down: got %d, %v; want 1", n, err)
			}
			if ran, err := s.MigrateUp(ctx); err != nil || !reflect.DeepEqual(ran, []string{"0009_tenants"}) {
				t.Fatalf("up again: got %v, %v; want only 0009_tenants", ran, err)
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
