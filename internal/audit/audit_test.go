package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/syncbuf"
	"github.com/rolegate/rolegate/models"
)

// fakeStore keeps the batches it is given. It can fail a number of calls,
// and hold every call until gate is closed (or the call's context ends),
// to stand for a database that is down or slow.
type fakeStore struct {
	mu      sync.Mutex
	batches [][]models.AuditEvent
	calls   int
	fail    int // calls still to fail; negative fails all
	gate    chan struct{}
	entered chan struct{} // receives once per call, if there is room
}

var errDown = errors.New("database down")

func (s *fakeStore) InsertAuditEvents(ctx context.Context, events []models.AuditEvent) error {
	if s.entered != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != 0 {
		s.fail--
		return errDown
	}
	s.batches = append(s.batches, slices.Clone(events))
	return nil
}

func (s *fakeStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, b := range s.batches {
		out = append(out, len(b))
	}
	return out
}

func (s *fakeStore) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func newRecorder(t *testing.T, st audit.Store, opts audit.Options) (*audit.Recorder, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(logs, nil))
	}
	r := audit.New(st, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Close(ctx)
	})
	return r, logs
}

func event(i int) models.AuditEvent {
	return models.AuditEvent{Action: models.AuditDecisionDeny, Result: models.AuditDeny, RequestID: fmt.Sprint("req-", i)}
}

func record(r *audit.Recorder, from, to int) {
	for i := from; i < to; i++ {
		r.Record(context.Background(), event(i))
	}
}

func closeRecorder(t *testing.T, r *audit.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func wantStats(t *testing.T, r *audit.Recorder, want audit.Stats) {
	t.Helper()
	if got := r.Stats(); got != want {
		t.Errorf("stats: got %+v, want %+v", got, want)
	}
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWritesFullBatchesAndFlushesTheRestOnClose(t *testing.T) {
	st := &fakeStore{}
	r, _ := newRecorder(t, st, audit.Options{Buffer: 2000, BatchSize: 500, FlushInterval: time.Hour})
	record(r, 0, 1200)
	waitFor(t, "two full batches", func() bool { return len(st.sizes()) == 2 })
	closeRecorder(t, r)
	if got := st.sizes(); !slices.Equal(got, []int{500, 500, 200}) {
		t.Errorf("batch sizes: got %v, want [500 500 200]", got)
	}
	wantStats(t, r, audit.Stats{Recorded: 1200, Written: 1200})
	var order []string
	for _, b := range st.batches {
		for _, e := range b {
			order = append(order, e.RequestID)
		}
	}
	if order[0] != "req-0" || order[1199] != "req-1199" {
		t.Errorf("order: got %s ... %s, want req-0 ... req-1199", order[0], order[1199])
	}
}

func TestFlushesAPartialBatchAfterTheInterval(t *testing.T) {
	st := &fakeStore{}
	r, _ := newRecorder(t, st, audit.Options{FlushInterval: 10 * time.Millisecond})
	record(r, 0, 3)
	waitFor(t, "3 events written without Close", func() bool { return r.Stats().Written == 3 })
	if got := st.sizes(); len(got) > 3 || got[0] == 0 {
		t.Errorf("batch sizes: got %v, want at most 3 non-empty batches", got)
	}
}

func TestDropsAndCountsWhenTheBufferIsFull(t *testing.T) {
	st := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	r, logs := newRecorder(t, st, audit.Options{Buffer: 4, BatchSize: 1, FlushInterval: time.Hour})
	record(r, 0, 1)
	<-st.entered // the writer now waits on the slow database with event 0
	record(r, 1, 5)
	wantStats(t, r, audit.Stats{Recorded: 5})
	record(r, 5, 8) // the buffer holds 4: these three are dropped
	wantStats(t, r, audit.Stats{Recorded: 8, Dropped: 3})
	if !strings.Contains(logs.String(), `"msg":"audit events dropped","reason":"buffer full"`) {
		t.Errorf("log: got %s, want a line about dropped events", logs)
	}
	close(st.gate)
	closeRecorder(t, r)
	wantStats(t, r, audit.Stats{Recorded: 8, Written: 5, Dropped: 3})
	for _, dropped := range []string{"req-5", "req-7"} {
		if !strings.Contains(logs.String(), `"request_id":"`+dropped+`"`) {
			t.Errorf("log: dropped event %s is missing from the structured log", dropped)
		}
	}
}

func TestRetriesAFailedBatch(t *testing.T) {
	st := &fakeStore{fail: 2}
	r, logs := newRecorder(t, st, audit.Options{FlushInterval: time.Hour, Retries: 3, Backoff: time.Millisecond})
	record(r, 0, 2)
	closeRecorder(t, r)
	wantStats(t, r, audit.Stats{Recorded: 2, Written: 2})
	if got := st.callCount(); got != 3 {
		t.Errorf("calls: got %d, want 3 (two failures, then success)", got)
	}
	if !strings.Contains(logs.String(), "audit write failed; retrying") {
		t.Errorf("log: got %s, want the retries logged", logs)
	}
}

func TestDropsABatchTheDatabaseKeepsRefusing(t *testing.T) {
	st := &fakeStore{fail: -1}
	r, logs := newRecorder(t, st, audit.Options{FlushInterval: time.Hour, Retries: 2, Backoff: time.Millisecond})
	record(r, 0, 5)
	closeRecorder(t, r)
	wantStats(t, r, audit.Stats{Recorded: 5, Dropped: 5})
	if got := st.callCount(); got != 3 {
		t.Errorf("calls: got %d, want 3 (one try and two retries)", got)
	}
	if !strings.Contains(logs.String(), `"msg":"audit events not written; dropping them","count":5`) {
		t.Errorf("log: got %s, want the dropped batch logged", logs)
	}
}

func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	st := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	r, _ := newRecorder(t, st, audit.Options{BatchSize: 1, FlushInterval: time.Hour})
	record(r, 0, 1)
	<-st.entered
	record(r, 1, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close with a stuck database: got %v, want a deadline error", err)
	}
	wantStats(t, r, audit.Stats{Recorded: 3, Dropped: 3})
}

func TestRecordAfterCloseIsCountedAsDropped(t *testing.T) {
	st := &fakeStore{}
	r, _ := newRecorder(t, st, audit.Options{})
	closeRecorder(t, r)
	record(r, 0, 1)
	closeRecorder(t, r) // a second Close is harmless
	wantStats(t, r, audit.Stats{Recorded: 1, Dropped: 1})
}

func TestEveryEventIsCountedDespiteAConcurrentClose(t *testing.T) {
	st := &fakeStore{}
	r, _ := newRecorder(t, st, audit.Options{Buffer: 64, BatchSize: 8, FlushInterval: time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() { record(r, g*1000, g*1000+1000) })
	}
	waitFor(t, "some events before closing", func() bool { return r.Stats().Recorded > 100 })
	closeRecorder(t, r)
	wg.Wait()
	s := r.Stats()
	if s.Recorded != 8000 || s.Written+s.Dropped != s.Recorded {
		t.Errorf("stats: got %+v, want 8000 recorded, each written or dropped", s)
	}
	written := 0
	for _, n := range st.sizes() {
		written += n
	}
	if int64(written) != s.Written {
		t.Errorf("store holds %d events, stats say %d written", written, s.Written)
	}
}

func TestEventsAreLoggedAtOnce(t *testing.T) {
	st := &fakeStore{}
	r, logs := newRecorder(t, st, audit.Options{FlushInterval: time.Hour})
	r.Record(context.Background(), models.AuditEvent{
		ActorID: 7, ActorRole: "admin", Action: models.AuditUserDelete, Target: "users/9",
		Result: models.AuditSuccess, RequestID: "abc", ClientIP: "192.0.2.1",
	})
	line := logs.String()
	for _, want := range []string{`"msg":"audit"`, `"action":"user.delete"`, `"actor_id":7`, `"target":"users/9"`, `"request_id":"abc"`, `"client_ip":"192.0.2.1"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log before any write: got %s, want %s", line, want)
		}
	}
	if got := r.Stats().Written; got != 0 {
		t.Errorf("written before the flush interval: got %d, want 0", got)
	}
}

func TestReloadEvent(t *testing.T) {
	errs := make([]authz.LoadError, 25)
	for i := range errs {
		errs[i] = authz.LoadError{File: "policy.csv", Line: i + 1, Reason: "bad"}
	}
	e := audit.ReloadEvent(authz.ReloadResult{Trigger: "file", OK: false, Version: "v1", Errors: errs})
	if e.Action != models.AuditPolicyReload || e.Result != models.AuditFailure || e.PolicyVersion != "v1" || e.Target != "policy" {
		t.Errorf("failed reload: got %+v, want a policy.reload failure of version v1", e)
	}
	if got := len(e.Detail["errors"].([]authz.LoadError)); got != 20 || e.Detail["errors_omitted"] != 5 {
		t.Errorf("errors: got %d kept and %v omitted, want 20 and 5", got, e.Detail["errors_omitted"])
	}
	ok := audit.ReloadEvent(authz.ReloadResult{Trigger: "sighup", OK: true, Changed: true, Version: "v2"})
	if ok.Result != models.AuditSuccess || ok.Detail["trigger"] != "sighup" || ok.Detail["changed"] != true || ok.Detail["errors"] != nil {
		t.Errorf("good reload: got %+v, want a success with trigger and changed", ok)
	}
}

type nopStore struct{}

func (nopStore) InsertAuditEvents(context.Context, []models.AuditEvent) error { return nil }

// BenchmarkRecord measures what recording costs the request path: a
// non-blocking channel send, plus the event's log line when logging is on.
// The writer drains the buffer while the timer is stopped, so every timed
// send succeeds and none takes the (cheaper) drop path. For comparison,
// "sync-sqlite-insert" is what writing each event to the database in the
// request would cost instead, and "baseline-bare-send" is a plain send of
// the same event on a buffered channel.
func BenchmarkRecord(b *testing.B) {
	e := models.AuditEvent{
		ActorID: 7, ActorRole: "admin", Action: models.AuditUserDelete, Target: "users/9", Result: models.AuditSuccess,
		Rule: "admin, users, delete, any", PolicyVersion: strings.Repeat("ab", 32), RequestID: "0123456789abcdef", ClientIP: "192.0.2.1",
	}
	ctx := context.Background()
	run := func(b *testing.B, log *slog.Logger) {
		r := audit.New(nopStore{}, audit.Options{FlushInterval: time.Millisecond, Log: log})
		defer r.Close(ctx)
		const chunk = 5000 // half the default buffer
		b.ReportAllocs()
		b.ResetTimer()
		for done := 0; done < b.N; done += chunk {
			b.StartTimer()
			for range min(chunk, b.N-done) {
				r.Record(ctx, e)
			}
			b.StopTimer()
			for s := r.Stats(); s.Written+s.Dropped < s.Recorded; s = r.Stats() {
				runtime.Gosched()
			}
		}
		if s := r.Stats(); s.Dropped > 0 {
			b.Fatalf("got %d dropped, want every timed send to succeed", s.Dropped)
		}
	}
	b.Run("baseline-bare-send", func(b *testing.B) {
		ch := make(chan models.AuditEvent, 10000)
		go func() {
			for range ch {
			}
		}()
		defer close(ch)
		for b.Loop() {
			ch <- e
		}
	})
	b.Run("channel-send", func(b *testing.B) { run(b, slog.New(slog.DiscardHandler)) })
	b.Run("channel-send+json-log", func(b *testing.B) { run(b, slog.New(slog.NewJSONHandler(io.Discard, nil))) })
	b.Run("sync-sqlite-insert", func(b *testing.B) {
		st, err := store.Open(ctx, dbtest.Targets(b)[0].URL, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		batch := []models.AuditEvent{e}
		b.ReportAllocs()
		for b.Loop() {
			if err := st.InsertAuditEvents(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	})
}
