package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// Migrations are plain SQL, one file per direction and dialect, named
// NNNN_name.DIALECT.up.sql and NNNN_name.DIALECT.down.sql, so they can be
// reviewed as SQL. gormigrate records which have run in schema_migrations.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

const migrationTable = "schema_migrations"

// MigrationStatus is one migration and whether it has run.
type MigrationStatus struct {
	ID      string
	Applied bool
}

func (s *Store) migrations() ([]*gormigrate.Migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*."+s.dialect+".up.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []*gormigrate.Migration
	for _, up := range names {
		id := strings.TrimSuffix(strings.TrimPrefix(up, "migrations/"), "."+s.dialect+".up.sql")
		down := strings.TrimSuffix(up, ".up.sql") + ".down.sql"
		out = append(out, &gormigrate.Migration{
			ID:       id,
			Migrate:  then(runFile(up), afterUp[id]),
			Rollback: runFile(down),
		})
	}
	return out, nil
}

// afterUp holds the steps some migrations take in Go after their SQL, for
// values SQL cannot compute. They run in the migration's transaction.
var afterUp = map[string]func(*gorm.DB) error{
	"0008_username_skeleton": fillUsernameSkeletons,
}

// then runs first and, if it succeeds and next is not nil, next.
func then(first, next func(*gorm.DB) error) func(*gorm.DB) error {
	if next == nil {
		return first
	}
	return func(tx *gorm.DB) error {
		if err := first(tx); err != nil {
			return err
		}
		return next(tx)
	}
}

func runFile(name string) func(*gorm.DB) error {
	return func(tx *gorm.DB) error {
		sql, err := migrationFiles.ReadFile(name)
		if err != nil {
			return err
		}
		for i, stmt := range statements(string(sql)) {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("%s: statement %d: %w", name, i+1, err)
			}
		}
		return nil
	}
}

// statements splits a migration into its statements, which end with ";" at
// the end of a line. Drivers that prepare statements take one at a time.
func statements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// withMigrator runs fn with a migrator inside one transaction that holds
// the migration lock, so replicas starting together migrate once.
// PostgreSQL runs DDL transactionally; SQLite takes its write lock at
// BEGIN.
func (s *Store) withMigrator(ctx context.Context, fn func(*gormigrate.Gormigrate) error) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockID).Error; err != nil {
				return err
			}
		}
		opts := *gormigrate.DefaultOptions
		opts.TableName = migrationTable
		opts.UseTransaction = false // already in one
		opts.ValidateUnknownMigrations = true
		return fn(gormigrate.New(tx, &opts, ms))
	})
}

// migrationLockID is the PostgreSQL advisory lock key for migrations.
const migrationLockID = 0x726f6c6567617465 // "rolegate"

// Migrate applies every migration that has not run.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.withMigrator(ctx, (*gormigrate.Gormigrate).Migrate); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrateDown rolls back the last migration that ran.
func (s *Store) MigrateDown(ctx context.Context) error {
	if err := s.withMigrator(ctx, (*gormigrate.Gormigrate).RollbackLast); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// MigrationStatus lists every migration and whether it has run.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	applied := map[string]bool{}
	db := s.db.WithContext(ctx)
	if db.Migrator().HasTable(migrationTable) {
		var ids []string
		if err := db.Table(migrationTable).Pluck("id", &ids).Error; err != nil {
			return nil, dbError(err)
		}
		for _, id := range ids {
			applied[id] = true
		}
	}
	out := make([]MigrationStatus, len(ms))
	for i, m := range ms {
		out[i] = MigrationStatus{ID: m.ID, Applied: applied[m.ID]}
	}
	return out, nil
}

// Pending reports how many migrations have not run.
func (s *Store) Pending(ctx context.Context) (int, error) {
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if !m.Applied {
			n++
		}
	}
	return n, nil
}
