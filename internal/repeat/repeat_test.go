package repeat_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rolegate/rolegate/internal/repeat"
)

// The tests run in a synctest bubble, whose clock moves only when every
// goroutine in it is blocked: waits of seconds take no real time, and the
// times the tests see are exact.

// everyCalls runs Every with an interval of a second and a call that takes
// took, ends ctx after total, and returns when each call began. It returns
// only once Every has.
func everyCalls(took, total time.Duration) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	var calls []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		repeat.Every(ctx, time.Second, func() {
			calls = append(calls, time.Since(start))
			time.Sleep(took)
		})
	}()
	time.Sleep(total)
	cancel()
	<-done
	return calls
}

func TestEveryCallsEachIntervalUntilDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := everyCalls(0, 3500*time.Millisecond)
		want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
		if !slices.Equal(calls, want) {
			t.Errorf("got calls at %v, want %v", calls, want)
		}
	})
}

func TestEveryDoesNotOverlapASlowCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := everyCalls(2500*time.Millisecond, 7*time.Second)
		// A slow call delays the next one: it starts after the call
		// returns, at once (the tick that came meanwhile) or later.
		if len(calls) < 2 {
			t.Fatalf("got calls at %v, want at least two in 7s", calls)
		}
		for i := 1; i < len(calls); i++ {
			if gap := calls[i] - calls[i-1]; gap < 2500*time.Millisecond {
				t.Errorf("got calls at %v: %v apart, want at least the 2.5s a call takes", calls, gap)
			}
		}
	})
}

// conn is a connection that records being closed.
type conn struct {
	id     int
	closed bool
}

func (c *conn) Close() error {
	c.closed = true
	return nil
}

// attempt scripts one connect: whether it fails, and if not, how long the
// connection stays up before serve fails.
type attempt struct {
	fail bool
	up   time.Duration
}

// report is one failure Reconnect reported: when, since the start, the
// error, and the wait it announced.
type report struct {
	at   time.Duration
	err  string
	wait time.Duration
}

// script runs Reconnect over attempts, ending ctx when it asks for one
// more, and returns the failures it reported and the connections it made.

func script(t *testing.T, maxWait time.Duration, attempts []attempt) ([]report, []*conn) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	var reports []report
	var conns []*conn
	n := 0
	connect := func(context.Context) (*conn, error) {
		if n == len(attempts) {
			cancel()
			<-ctx.Done()
			return nil, ctx.Err()
		}
		a := attempts[n]
		n++
		if a.fail {
			return nil, fmt.Errorf("connect %d refused", n)
		}
		c := &conn{id: n}
		conns = append(conns, c)
		return c, nil
	}
	serve := func(ctx context.Context, c *conn) error {
		time.Sleep(attempts[c.id-1].up)
		return fmt.Errorf("connection %d lost", c.id)
	}
	repeat.Reconnect(ctx, maxWait, connect, serve, func(err error, wait time.Duration) {
		reports = append(reports, report{time.Since(start), err.Error(), wait})
	})
	return reports, conns
}

func TestReconnectDoublesTheWaitUpToTheMaximum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reports, _ := script(t, 3*time.Second, []attempt{{fail: true}, {fail: true}, {fail: true}, {fail: true}, {fail: true}})
		ms := time.Millisecond
		want := []report{
			{0, "connect 1 refused", 500 * ms},
			{500 * ms, "connect 2 refused", time.Second},
			{1500 * ms, "connect 3 refused", 2 * time.Second},
			{3500 * ms, "connect 4 refused", 3 * time.Second},
			{6500 * ms, "connect 5 refused", 3 * time.Second},
		}
		if !slices.Equal(reports, want) {
			t.Errorf("got\n%v\nwant\n%v", reports, want)
		}
	})
}

func TestReconnectStartsOverAfterAConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := time.Millisecond
		reports, conns := script(t, 10*time.Second, []attempt{
			{fail: true},      // waits 500ms
			{fail: true},      // 1s
			{up: time.Minute}, // up a minute, then 500ms again
			{fail: true},      // 1s
			{up: 0},           // 500ms
		})
		want := []report{
			{0, "connect 1 refused", 500 * ms},
			{500 * ms, "connect 2 refused", time.Second},
			{time.Minute + 1500*ms, "connection 3 lost", 500 * ms},
			{time.Minute + 2000*ms, "connect 4 refused", time.Second},
			{time.Minute + 3000*ms, "connection 5 lost", 500 * ms},
		}
		if !slices.Equal(reports, want) {
			t.Errorf("got\n%v\nwant\n%v", reports, want)
		}
		if len(conns) != 2 || !conns[0].closed || !conns[1].closed {
			t.Errorf("got connections %+v, want two, both closed", conns)
		}
	})
}

func TestReconnectStopsWhenDoneAndClosesTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var c *conn
		var reported []error
		done := make(chan struct{})
		go func() {
			defer close(done)
			repeat.Reconnect(ctx, time.Minute,
				func(context.Context) (*conn, error) { c = &conn{}; return c, nil },
				func(ctx context.Context, _ *conn) error { <-ctx.Done(); return ctx.Err() },
				func(err error, _ time.Duration) { reported = append(reported, err) })
		}()
		time.Sleep(time.Hour)
		cancel()
		<-done
		if c == nil || !c.closed {
			t.Errorf("got connection %+v, want one, closed", c)
		}
		if len(reported) > 0 {
			t.Errorf("got failures %v reported, want none: ending ctx is not a failure", reported)
		}
	})
}

func TestReconnectStopsDuringAWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		attempts := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			repeat.Reconnect(ctx, time.Hour,
				func(context.Context) (*conn, error) { attempts++; return nil, errors.New("refused") },
				func(context.Context, *conn) error { return nil },
				nil)
		}()
		time.Sleep(1200 * time.Millisecond) // attempts at 0 and 500ms; the next wait is 1s
		cancel()
		<-done
		if attempts != 2 || time.Since(start) != 1200*time.Millisecond {
			t.Errorf("got %d attempts, returned after %v; want 2, at once when ctx ends (1.2s)", attempts, time.Since(start))
		}
	})
}

func TestReconnectReportsAConnectionThatEndsWithoutAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var reported []string
		repeat.Reconnect(ctx, time.Second,
			func(context.Context) (*conn, error) { return &conn{}, nil },
			func(context.Context, *conn) error { return nil },
			func(err error, _ time.Duration) {
				if reported = append(reported, fmt.Sprint(err)); len(reported) == 2 {
					cancel()
				}
			})
		for _, r := range reported {
			if r == "<nil>" {
				t.Fatalf("got failures %q, want each with a reason", reported)
			}
		}
	})
}
