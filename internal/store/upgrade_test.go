package store

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
)

// TestUpgradeFromGormigrate builds a database as releases before goose
// did (gormigrate, with the SQL files of then in testdata/gormigrate), up
// to 0008 and with a user in it, and opens it with this release: it
// migrates to the newest without running 0001-0008 again, and the user
// survives.
func TestUpgradeFromGormigrate(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s, err := Open(ctx, target.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			gormigrateUpTo(t, s, "0007_account_keys")
			joined := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
			if err := s.db.Exec(`INSERT INTO users (username, username_key, email, role, is_active, password_hash, account_key, date_joined)
				VALUES ('Ann', 'ann', 'ann@example.com', 'admin', TRUE, 'x', 'KEY', ?)`, joined).Error; err != nil {
				t.Fatal(err)
			}
			gormigrateUpTo(t, s, "0008_username_skeleton")

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

// gormigrateUpTo applies the migrations of testdata/gormigrate up to and
// including id, that have not run, as releases before goose did: in one
// transaction, statement by statement, with fillUsernameSkeletons after
// 0008's SQL, recording each id in schema_migrations.
func gormigrateUpTo(t *testing.T, s *Store, id string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "gormigrate", "*."+s.dialect.name+".up.sql"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	err = s.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (id VARCHAR(255) PRIMARY KEY)`).Error; err != nil {
			return err
		}
		for _, file := range files {
			mid := strings.TrimSuffix(filepath.Base(file), "."+s.dialect.name+".up.sql")
			var n int64
			if err := tx.Table(gormigrateTable).Where("id = ?", mid).Count(&n).Error; err != nil || n > 0 || mid > id {
				if err != nil {
					return err
				}
				continue
			}
			sql, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			for stmt := range strings.SplitAfterSeq(string(sql), ";\n") {
				if strings.TrimSpace(stmt) != "" {
					if err := tx.Exec(stmt).Error; err != nil {
						return err
					}
				}
			}
			if mid == usernameSkeletonID {
				if err := fillUsernameSkeletons(tx); err != nil {
					return err
				}
			}
			if err := tx.Exec(`INSERT INTO schema_migrations (id) VALUES (?)`, mid).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("gormigrate up to %s: %v", id, err)
	}
}
