// Package repeat runs background work again and again until its context
// is done: at a fixed interval (Every), or, for a connection that must
// stay up, again after each failure with a growing wait (Reconnect).
package repeat

import (
	"context"
	"errors"
	"io"
	"time"
)

// Every calls fn each interval until ctx is done; the first call is one
// interval from now. A call that outlasts the interval delays the next one
// instead of overlapping it.
func Every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// MinWait is Reconnect's first wait before it connects again, after a
// connection that was up fails.
const MinWait = 500 * time.Millisecond

// errEnded stands for a serve that returned without an error: the
// connection is gone all the same.
var errEnded = errors.New("the connection ended")

// Reconnect keeps a connection up until ctx is done. It calls connect and,
// once that succeeds, serve with the connection until serve returns, and
// then closes the connection. After each failure, of connect or of serve,
// it calls onFailure (unless nil) with the error and the wait, and waits
// before it connects again: MinWait after a connection that was up, twice
// the last wait after a connect that failed, never more than maxWait. When
// ctx is done it returns, without reporting the failure that caused.
func Reconnect[C io.Closer](ctx context.Context, maxWait time.Duration, connect func(context.Context) (C, error), serve func(context.Context, C) error, onFailure func(err error, wait time.Duration)) {
	wait := MinWait
	for {
		conn, err := connect(ctx)
		if err == nil {
			wait = MinWait
			if err = serve(ctx, conn); err == nil {
				err = errEnded
			}
			conn.Close()
		}
		if ctx.Err() != nil {
			return
		}
		if onFailure != nil {
			onFailure(err, wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}
