package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"gorm.io/gorm"
)

// Migrations are SQL files run by goose, one directory per dialect,
// migrations/DIALECT/NNNN_name.sql, each with its "-- +goose Up" and
// "-- +goose Down" parts, so they can be reviewed as SQL. Migration 0008
// is Go (see skeleton.go): SQL cannot compute a confusable skeleton.
// goose records which have run in goose_db_version.
//
//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// gooseTable is where goose records the migrations that have run.
const gooseTable = "goose_db_version"

// gormigrateTable is where releases before goose recorded them, one row
// per migration id ("0001_init"); see adoptGormigrate.
const gormigrateTable = "schema_migrations"

// migrationLockID is the PostgreSQL advisory lock key for migrations.
const migrationLockID = 0x726f6c6567617465 // "rolegate"

// MigrationStatus is one migration and whether it has run.
type MigrationStatus struct {
	ID      string
	Applied bool
}

// migrator returns a goose provider over the store's migrations, after
// adopting a schema that gormigrate migrated.
func (s *Store) migrator(ctx context.Context) (*goose.Provider, error) {
	if err := s.adoptGormigrate(ctx); err != nil {
		return nil, fmt.Errorf("adopt %s: %w", gormigrateTable, err)
	}
	if s.dialect.migrationLock == nil {
		return s.provider()
	}
	// Replicas starting together migrate one after another.
	locker, err := s.dialect.migrationLock(migrationLockID)
	if err != nil {
		return nil, err
	}
	return s.provider(goose.WithSessionLocker(locker))
}

// provider returns a goose provider over the store's migrations.
func (s *Store) provider(opts ...goose.ProviderOption) (*goose.Provider, error) {
	files, err := fs.Sub(migrationFiles, "migrations/"+s.dialect.name)
	if err != nil {
		return nil, err
	}
	opts = append(opts, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(s.usernameSkeletonMigration()))
	return goose.NewProvider(s.dialect.goose, s.pool, files, opts...)
}

// migrationID names a migration as its file does, without ".sql":
// "0001_init".
func migrationID(src *goose.Source) string {
	if src.Type == goose.TypeGo {
		return usernameSkeletonID
	}
	return strings.TrimSuffix(path.Base(src.Path), ".sql")
}

// Migrate applies every migration that has not run.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.MigrateUp(ctx)
	return err
}

// MigrateUp applies every migration that has not run and returns their
// ids, in the order they ran: none when the schema was up to date.
func (s *Store) MigrateUp(ctx context.Context) ([]string, error) {
	p, err := s.migrator(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	ran := make([]string, len(results))
	for i, r := range results {
		ran[i] = migrationID(r.Source)
	}
	return ran, nil
}

// MigrateDown rolls back the newest migration that ran and returns its
// id; "" when none has run.
func (s *Store) MigrateDown(ctx context.Context) (string, error) {
	p, err := s.migrator(ctx)
	if err != nil {
		return "", fmt.Errorf("migrate down: %w", err)
	}
	r, err := p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("migrate down: %w", err)
	}
	return migrationID(r.Source), nil
}

// migrateTo applies the migrations up to and including id.
func (s *Store) migrateTo(ctx context.Context, id string) error {
	var version int64
	if _, err := fmt.Sscanf(id, "%04d_", &version); err != nil {
		return fmt.Errorf("migration id %q: %w", id, err)
	}
	p, err := s.migrator(ctx)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// MigrationStatus lists every migration and whether it has run.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.migrator(ctx)
	if err != nil {
		return nil, err
	}
	status, err := p.Status(ctx)
	if err != nil {
		return nil, dbError(err)
	}
	out := make([]MigrationStatus, len(status))
	for i, m := range status {
		out[i] = MigrationStatus{ID: migrationID(m.Source), Applied: m.State == goose.StateApplied}
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

// adoptGormigrate carries a schema migrated by a release before goose
// over to goose, once: it records in goose's table every migration that
// gormigrate's table lists, and drops gormigrate's table, in one
// transaction, so that goose runs only what is new. Every goose operation
// comes after it (even a status creates goose's table). On PostgreSQL it
// holds the migration lock, and looks again once it has it.
func (s *Store) adoptGormigrate(ctx context.Context) error {
	if !s.db.WithContext(ctx).Migrator().HasTable(gormigrateTable) {
		return nil
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.dialect.lock(tx, migrationLockID); err != nil {
			return err
		}
		if !tx.Migrator().HasTable(gormigrateTable) {
			return nil // adopted meanwhile
		}
		var ids []string
		if err := tx.Table(gormigrateTable).Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		if err := recordVersions(tx, s.dialect.goose, ids); err != nil {
			return err
		}
		return tx.Exec("DROP TABLE " + gormigrateTable).Error
	})
}

// recordVersions records in goose's table, created if need be, the
// migrations ids, as goose would have after running them.
func recordVersions(tx *gorm.DB, gooseDialect database.Dialect, ids []string) error {
	versions, err := database.NewStore(gooseDialect, gooseTable)
	if err != nil {
		return err
	}
	ctx, conn := tx.Statement.Context, tx.Statement.ConnPool.(*sql.Tx)
	if !tx.Migrator().HasTable(gooseTable) {
		if err := versions.CreateVersionTable(ctx, conn); err != nil {
			return err
		}
		// goose's own first row, which it writes with its table.
		if err := versions.Insert(ctx, conn, database.InsertRequest{Version: 0}); err != nil {
			return err
		}
	}
	recorded, err := versions.ListMigrations(ctx, conn)
	if err != nil {
		return err
	}
	for _, id := range ids {
		var version int64
		if _, err := fmt.Sscanf(id, "%04d_", &version); err != nil {
			return fmt.Errorf("%s id %q: %w", gormigrateTable, id, err)
		}
		if slices.ContainsFunc(recorded, func(m *database.ListMigrationsResult) bool { return m.Version == version }) {
			continue
		}
		if err := versions.Insert(ctx, conn, database.InsertRequest{Version: version}); err != nil {
			return err
		}
	}
	return nil
}
