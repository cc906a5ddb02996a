package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// dialect holds the facts in which rolegate's two databases differ, chosen
// once at Open. Everything else in the store is one path on both: GORM for
// connections, transactions and simple CRUD, and the hot queries as one SQL
// text each, run on GORM's connection (see query and atomically). SQL
// given to GORM
// (Exec, Raw, Where) has ? parameters, which GORM writes in the dialect's
// style; SQL run on the connection directly has $N parameters, which
// PostgreSQL and SQLite both accept.
type dialect struct {
	name string
	// maxConns is the pool size when Options.MaxConns is 0.
	maxConns int
	// lockSQL takes a lock held until the transaction ends, on the key
	// given as its parameter; "" where writers take turns anyway (SQLite
	// takes its write lock at BEGIN: see sqliteParams).
	lockSQL string
	// notifySQL announces a payload on a channel when the transaction
	// commits; "" where there are no notifications, so no listeners.
	notifySQL string
	// forUpdate, appended to a SELECT, locks the rows it reads until the
	// transaction ends; "" where the transaction holds the write lock.
	forUpdate string
	// skipLocked, appended to a SELECT, skips the rows another
	// transaction has locked instead of waiting for them; "" where there
	// is one writer at a time.
	skipLocked string
	// auditRowsPerInsert is how many rows one audit INSERT carries.
	auditRowsPerInsert int
	// advanceIDsSQL moves the id sequence of table %[1]s past its
	// parameter and every stored id; "" where the counter follows
	// explicit ids.
	advanceIDsSQL string
	// goose is the dialect's name in goose, which runs the migrations.
	goose database.Dialect
	// migrationLock is the lock under which replicas that migrate at once
	// take turns (see migrator); nil where one process owns the database.
	migrationLock func(key int64) (lock.SessionLocker, error)
}

var dialects = map[string]dialect{
	SQLite: {
		name:     SQLite,
		maxConns: 8,
		// The driver matches bind values to parameters in time quadratic
		// in their number, so 500 rows (6,500 values) cost several times
		// more than 25 statements of 20; the one transaction around them
		// is what saves the fsyncs.
		auditRowsPerInsert: 20,
		goose:              database.DialectSQLite3,
	},
	Postgres: {
		name:               Postgres,
		maxConns:           20,
		lockSQL:            "SELECT pg_advisory_xact_lock(?)",
		notifySQL:          "SELECT pg_notify(?, ?)",
		forUpdate:          " FOR UPDATE",
		skipLocked:         " FOR UPDATE SKIP LOCKED",
		auditRowsPerInsert: MaxAuditBatch,
		advanceIDsSQL: `SELECT setval(t.seq, GREATEST(?, 1, COALESCE((SELECT max(id) FROM %[1]s), 0), COALESCE(pg_sequence_last_value(t.seq), 0)))
FROM (SELECT pg_get_serial_sequence('%[1]s', 'id')::regclass AS seq) AS t`,
		goose: database.DialectPostgres,
		migrationLock: func(key int64) (lock.SessionLocker, error) {
			return lock.NewPostgresSessionLocker(lock.WithLockID(key))
		},
	},
}

// open returns the GORM dialector for dsn, creating a SQLite file's
// folder.
func (d dialect) open(dsn string) (gorm.Dialector, error) {
	if d.name == Postgres {
		return postgres.Open(dsn), nil
	}
	if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
		return nil, fmt.Errorf("create database folder: %w", err)
	}
	return sqlite.Open(dsn + sqliteParams), nil
}

// sqliteParams make SQLite safe for a server: foreign keys on, WAL so that
// readers never wait for the writer, a busy timeout instead of immediate
// "database is locked" errors, and write locks taken at BEGIN so that a
// transaction never fails halfway when it first writes. (No _time_format:
// the driver ignores _txlock after it, and its default is the same.)
const sqliteParams = "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"

// lock takes the transaction-scoped lock key in tx, where writers need
// one to take turns.
func (d dialect) lock(tx *gorm.DB, key int64) error {
	if d.lockSQL == "" {
		return nil
	}
	return tx.Exec(d.lockSQL, key).Error
}

// locked makes tx's next SELECT lock the rows it reads until the
// transaction ends, where another writer could change them meanwhile.
func (d dialect) locked(tx *gorm.DB) *gorm.DB {
	if d.forUpdate == "" {
		return tx
	}
	return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}

// notifies reports whether the database delivers notifications, so that
// other processes can LISTEN for writes.
func (d dialect) notifies() bool { return d.notifySQL != "" }

// notify announces payload on channel when tx commits, where the
// database has notifications.
func (d dialect) notify(tx *gorm.DB, channel, payload string) error {
	if d.notifySQL == "" {
		return nil
	}
	return tx.Exec(d.notifySQL, channel, payload).Error
}

// advanceIDs moves the id sequence of table (a name the store chooses,
// never input) past top, where explicit ids do not move it.
func (d dialect) advanceIDs(tx *gorm.DB, table string, top int64) error {
	if d.advanceIDsSQL == "" {
		return nil
	}
	return tx.Exec(fmt.Sprintf(d.advanceIDsSQL, table), top).Error
}

// rows is what the store's hand-written statements are read through:
// database/sql's *sql.Rows and pgx's pgx.Rows both are.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// stmt is one hand-written statement, with $N parameters, and what reads
// its rows (nil for none).
type stmt struct {
	sql  string
	args []any
	read func(rows) error
}

// query runs st, a read, on pool. On PostgreSQL it runs on pgx's own
// interface, which scans values straight into their destinations: a
// profile of GET /v1/users?limit=100 put database/sql's per-value
// conversion at 9% of the CPU.
func (d dialect) query(ctx context.Context, pool *sql.DB, st stmt) error {
	if d.name == Postgres {
		return pipeline(ctx, pool, st)
	}
	return runSQL(ctx, pool, st)
}

// atomically runs stmts in order as one unit: all of them or none. On
// PostgreSQL they go in one round trip and run as one implicit
// transaction (a pgx batch); SQLite, in process, runs them in a
// transaction of its own. The refresh rotation was once a seven-round-trip
// transaction, and round trips are what a refresh spent its time on.
func (d dialect) atomically(ctx context.Context, pool *sql.DB, stmts ...stmt) error {
	if d.name == Postgres {
		return pipeline(ctx, pool, stmts...)
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, st := range stmts {
		if err := runSQL(ctx, tx, st); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// pipeline sends stmts to PostgreSQL as one pgx batch, on a connection of
// pool, and reads their rows in order.
func pipeline(ctx context.Context, pool *sql.DB, stmts ...stmt) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		var b pgx.Batch
		for _, st := range stmts {
			b.Queue(st.sql, st.args...)
		}
		results := driverConn.(*stdlib.Conn).Conn().SendBatch(ctx, &b)
		for _, st := range stmts {
			rs, err := results.Query()
			if err == nil {
				err = readAll(rs, st.read)
				rs.Close()
			}
			if err != nil {
				results.Close()
				return err
			}
		}
		return results.Close()
	})
}

// runSQL runs st through database/sql, on a pool or a transaction.
func runSQL(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, st stmt) error {
	rs, err := db.QueryContext(ctx, st.sql, st.args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	return readAll(rs, st.read)
}

// readAll calls read, unless nil, for each of rs's rows.
func readAll(rs rows, read func(rows) error) error {
	for rs.Next() {
		if read == nil {
			continue
		}
		if err := read(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}
