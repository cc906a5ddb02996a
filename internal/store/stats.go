package store

import "database/sql"

// SQLDB returns the connection pool, for its statistics.
func (s *Store) SQLDB() (*sql.DB, error) { return s.db.DB() }
