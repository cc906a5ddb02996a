package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/models"
)

// denial is an anonymous denial from client ip on route.
func denial(ip, route string, i int) models.AuditEvent {
	return models.AuditEvent{
		Action: models.AuditDecisionDeny, Result: models.AuditDeny, ActorRole: "anonymous", Target: "users",
		ClientIP: ip, RequestID: fmt.Sprint("req-", i), Detail: map[string]any{"route": route, "reason": "not_authenticated"},
	}
}

// stored is every event the fake store holds.
func (s *fakeStore) stored() []models.AuditEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []models.AuditEvent
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func sumCounts(events []models.AuditEvent) int64 {
	var n int64
	for _, e := range events {
		n += e.Count
	}
	return n
}

func TestAggregatesOneEventPerKindOnClose(t *testing.T) {
	st := &fakeStore{}
	r, logs := newRecorder(t, st, audit.Options{FlushInterval: time.Hour})
	ctx := context.Background()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	kinds := []struct{ ip, route string }{{"192.0.2.1", "/v1/authz/forward"}, {"192.0.2.2", "/v1/authz/forward"}, {"192.0.2.1", "/signup/"}}
	var firsts []bool
	for i := range 999 {
		k := kinds[i%3]
		e := denial(k.ip, k.route, i)
		e.At = start.Add(time.Duration(i) * time.Millisecond)
		firsts = append(firsts, r.Aggregate(ctx, e, k.route))
	}
	if got := slices.Index(firsts[3:], true); !slices.Equal(firsts[:3], []bool{true, true, true}) || got != -1 {
		t.Errorf("first: got %v for the first three and the next true at %d, want true three times, then never", firsts[:3], got)
	}
	if got := strings.Count(logs.String(), `"msg":"audit"`); got != 0 {
		t.Errorf("log before the window ends: got %d audit lines, want none", got)
	}
	closeRecorder(t, r)

	events := st.stored()
	if len(events) != 3 || sumCounts(events) != 999 {
		t.Fatalf("stored: got %d events counting %d, want 3 counting 999", len(events), sumCounts(events))
	}
	for _, e := range events {
		i := slices.IndexFunc(kinds, func(k struct{ ip, route string }) bool { return k.ip == e.ClientIP && k.route == e.Detail["route"] })
		if i < 0 || e.Count != 333 || !e.FirstAt.Equal(start.Add(time.Duration(i)*time.Millisecond)) ||
			!e.At.Equal(start.Add(time.Duration(996+i)*time.Millisecond)) || e.RequestID != fmt.Sprint("req-", i) {
			t.Errorf("aggregate: got %s %v count %d from %v to %v, request %s; want kind %d, count 333 from its first to its last, the first's request id",
				e.ClientIP, e.Detail, e.Count, e.FirstAt, e.At, e.RequestID, i)
		}
	}
	if got := strings.Count(logs.String(), `"msg":"audit"`); got != 3 || !strings.Contains(logs.String(), `"count":333,"first_at":"2030-01-01T00:00:00Z"`) {
		t.Errorf("log: got %d audit lines, want 3 with their counts:\n%s", got, logs)
	}
	wantStats(t, r, audit.Stats{Recorded: 3, Written: 3, Aggregated: 999, Suppressed: 996})
}

func TestAggregatesAreWrittenAtTheEndOfEachWindow(t *testing.T) {
	st := &fakeStore{}
	const window = 50 * time.Millisecond
	r, _ := newRecorder(t, st, audit.Options{FlushInterval: 5 * time.Millisecond, Window: window})
	for round, n := range []int64{5, 3} {
		before := len(st.stored())
		for i := range n {
			r.Aggregate(context.Background(), denial("192.0.2.9", "/login/", int(i)), "/login/")
		}
		// Without Close: the writer ends the window and stores its
		// aggregate (two, if the occurrences straddled a boundary).
		waitFor(t, fmt.Sprintf("round %d's %d occurrences stored", round, n), func() bool {
			return sumCounts(st.stored()[before:]) == n
		})
		if got := len(st.stored()) - before; got > 2 {
			t.Errorf("round %d: got %d events, want one per window the occurrences fell in", round, got)
		}
		for _, e := range st.stored()[before:] {
			if e.At.Sub(e.FirstAt) > window {
				t.Errorf("round %d: an aggregate spans %v to %v, longer than its window", round, e.FirstAt, e.At)
			}
		}
	}
}

// TestAggregatesAreBoundedInMemory sends occurrences of more kinds than
// the cap allows: the kinds past the cap are counted per route, then, past
// the cap again, per action, and every occurrence is counted once.
func TestAggregatesAreBoundedInMemory(t *testing.T) {
	st := &fakeStore{}
	r, _ := newRecorder(t, st, audit.Options{FlushInterval: time.Hour, MaxAggregates: 2})
	routes := []string{"/a", "/b", "/c", "/d"}
	for i := range 400 {
		route := routes[i%4]
		r.Aggregate(context.Background(), denial(fmt.Sprintf("198.51.100.%d", i%100), route, i), route)
	}
	closeRecorder(t, r)
	events := st.stored()
	// Two open aggregates, two per-route buckets, and one for the rest.
	if len(events) != 5 || sumCounts(events) != 400 {
		t.Fatalf("stored: got %d events counting %d, want 5 counting 400", len(events), sumCounts(events))
	}
	var open, perRoute, rest int64
	for _, e := range events {
		switch {
		case e.Detail["overflow"] == nil:
			open += e.Count
			if e.ClientIP == "" {
				t.Errorf("open aggregate: got no client address, want its own")
			}
		case e.Detail["route"] != nil:
			perRoute += e.Count
		default:
			rest += e.Count
		}
		if e.Detail["overflow"] == true && (e.ClientIP != "" || e.RequestID != "" || e.ActorRole != "" || e.Action != models.AuditDecisionDeny) {
			t.Errorf("overflow bucket: got %+v, want a decision.deny naming no client, request or actor", e)
		}
	}
	if open != 8 || perRoute+rest != 392 || rest == 0 {
		t.Errorf("counts: got %d in open aggregates, %d per route and %d in the last bucket; want 8, and 392 in overflow with some in the last", open, perRoute, rest)
	}
	wantStats(t, r, audit.Stats{Recorded: 5, Written: 5, Aggregated: 400, Suppressed: 395, Overflowed: 392})
}

func TestAggregateAfterCloseIsCountedAsDropped(t *testing.T) {
	st := &fakeStore{}
	r, logs := newRecorder(t, st, audit.Options{})
	closeRecorder(t, r)
	if first := r.Aggregate(context.Background(), denial("192.0.2.1", "/login/", 1), "/login/"); !first {
		t.Error("after close: got first=false, want true (the caller logs it)")
	}
	wantStats(t, r, audit.Stats{Recorded: 1, Dropped: 1})
	if !strings.Contains(logs.String(), `"request_id":"req-1"`) {
		t.Errorf("log: got %s, want the dropped occurrence logged", logs)
	}
}

// TestEveryOccurrenceIsCountedDespiteAConcurrentClose: occurrences race
// Close; each is in a stored aggregate's count or counted as dropped.
func TestEveryOccurrenceIsCountedDespiteAConcurrentClose(t *testing.T) {
	st := &fakeStore{}
	r, _ := newRecorder(t, st, audit.Options{FlushInterval: time.Millisecond, Window: 3 * time.Millisecond, MaxAggregates: 5, Log: slog.New(slog.DiscardHandler)})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				ip := fmt.Sprintf("203.0.113.%d", (g*7+i)%13)
				r.Aggregate(context.Background(), denial(ip, "/v1/authz/forward", i), "/v1/authz/forward")
			}
		})
	}
	waitFor(t, "some occurrences before closing", func() bool { return r.Stats().Aggregated > 1000 })
	closeRecorder(t, r)
	wg.Wait()
	s := r.Stats()
	if got := sumCounts(st.stored()); got != s.Aggregated || s.Aggregated+s.Dropped != 16000 || s.Recorded != s.Written+s.Dropped {
		t.Errorf("got %d counted in stored aggregates, stats %+v; want the stats' aggregated, and aggregated plus dropped 16000", got, s)
	}
}

// BenchmarkAggregate measures what counting an occurrence costs the
// request path: the key (with the detail as JSON) and a map update under
// a mutex. "one-kind" is one scanner; "many-kinds" cycles through 5,000
// client addresses, past the cap of 1,000, so most go to overflow.
func BenchmarkAggregate(b *testing.B) {
	ctx := context.Background()
	ips := make([]string, 5000)
	for i := range ips {
		ips[i] = fmt.Sprintf("198.51.%d.%d", i/256, i%256)
	}
	for _, bc := range []struct {
		name string
		ips  []string
	}{{"one-kind", ips[:1]}, {"many-kinds", ips}} {
		b.Run(bc.name, func(b *testing.B) {
			r := audit.New(nopStore{}, audit.Options{})
			defer r.Close(ctx)
			e := denial("", "/v1/authz/forward", 0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e.ClientIP = bc.ips[i%len(bc.ips)]
				r.Aggregate(ctx, e, "/v1/authz/forward")
				i++
			}
		})
	}
}
