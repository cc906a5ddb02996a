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
	names, err := fs.Glob(migrationFiles, "migrations/*."+s.dialect.name+".up.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []*gormigrate.Migration
	for _, up := range names {
		id := strings.TrimSuffix(strings.TrimPrefix(up, "migrations/"), "."+s.dialect.name+".up.sql")
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

// withMigrator runs fn with the migrations and a migrator over them,
// inside one transaction that holds the migration lock, so replicas
// starting together migrate once. PostgreSQL runs DDL transactionally;
// SQLite takes its write lock at BEGIN.
func (s *Store) withMigrator(ctx context.Context, fn func(tx *gorm.DB, ms []*gormigrate.Migration, g *gormigrate.Gormigrate) error) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.dialect.lock(tx, migrationLockID); err != nil {
			return err
		}
		opts := *gormigrate.DefaultOptions
		opts.TableName = migrationTable
		opts.UseTransaction = false // already in one
		opts.ValidateUnknownMigrations = true
		return fn(tx, ms, gormigrate.New(tx, &opts, ms))
	})
}

// migrationLockID is the PostgreSQL advisory lock key for migrations.
const migrationLockID = 0x726f6c6567617465 // "rolegate"

// Migrate applies every migration that has not run.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.MigrateUp(ctx)
	return err
}

// MigrateUp applies every migration that has not run and returns their
// ids, in the order they ran: none when the schema was up to date.
func (s *Store) MigrateUp(ctx context.Context) ([]string, error) {
	var ran []string
	err := s.withMigrator(ctx, func(tx *gorm.DB, ms []*gormigrate.Migration, g *gormigrate.Gormigrate) error {
		before, err := appliedIDs(tx)
		if err != nil {
			return err
		}
		if err := g.Migrate(); err != nil {
			return err
		}
		for _, m := range ms {
			if !before[m.ID] {
				ran = append(ran, m.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return ran, nil
}

// MigrateDown rolls back the newest migration that ran and returns its
// id; "" when none has run.
func (s *Store) MigrateDown(ctx context.Context) (string, error) {
	var undone string
	err := s.withMigrator(ctx, func(tx *gorm.DB, ms []*gormigrate.Migration, g *gormigrate.Gormigrate) error {
		applied, err := appliedIDs(tx)
		if err != nil {
			return err
		}
		// gormigrate rolls back the last migration of the list that ran.
		for i := len(ms) - 1; i >= 0 && undone == ""; i-- {
			if applied[ms[i].ID] {
				undone = ms[i].ID
			}
		}
		if undone == "" {
			return nil
		}
		return g.RollbackLast()
	})
	if err != nil {
		return "", fmt.Errorf("migrate down: %w", err)
	}
	return undone, nil
}

// appliedIDs is the set of migrations that have run, as db sees them.
func appliedIDs(db *gorm.DB) (map[string]bool, error) {
	applied := map[string]bool{}
	if !db.Migrator().HasTable(migrationTable) {
		return applied, nil
	}
	var ids []string
	if err := db.Table(migrationTable).Pluck("id", &ids).Error; err != nil {
		return nil, dbError(err)
	}
	for _, id := range ids {
		applied[id] = true
	}
	return applied, nil
}

// MigrationStatus lists every migration and whether it has run.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	applied, err := appliedIDs(s.db.WithContext(ctx))
	if err != nil {
		return nil, err
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
