package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener is a PostgreSQL connection of its own, outside the pool, that
// LISTENs on one channel. A pooled connection cannot listen: the pool
// would hand it to other queries and drop it when idle.
type Listener struct {
	conn *pgx.Conn
}

// listenConnectTimeout bounds connecting and subscribing.
const listenConnectTimeout = 10 * time.Second

// ListenPolicy connects and subscribes to PolicyChannel. appName is the
// connection's application_name, which shows in pg_stat_activity, so an
// operator (or a test) can tell which replica a listener belongs to. Only
// PostgreSQL has notifications; on SQLite it fails.
func (s *Store) ListenPolicy(ctx context.Context, appName string) (*Listener, error) {
	l, err := s.listen(ctx, appName, PolicyChannel)
	if err != nil {
		return nil, fmt.Errorf("listen for policy versions: %w", err)
	}
	return l, nil
}

// listen connects and subscribes to channel, a constant identifier.
func (s *Store) listen(ctx context.Context, appName, channel string) (*Listener, error) {
	if !s.dialect.notifies() {
		return nil, errors.New("notifications need PostgreSQL")
	}
	cfg, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = appName
	ctx, cancel := context.WithTimeout(ctx, listenConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return &Listener{conn: conn}, nil
}

// Wait blocks until a notification arrives and returns its payload (for
// PolicyChannel, the published version). It fails when the connection does or ctx is done;
// the listener is then of no more use.
func (l *Listener) Wait(ctx context.Context) (string, error) {
	n, err := l.conn.WaitForNotification(ctx)
	if err != nil {
		return "", err
	}
	return n.Payload, nil
}

// Close ends the connection.
func (l *Listener) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return l.conn.Close(ctx)
}
