package store_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// auditActor returns an actor id no other test uses, so that filtering by
// it selects only the calling test's events.
func auditActor() int64 { return 1<<40 + next() }

func insertAudit(t *testing.T, s *store.Store, events ...models.AuditEvent) {
	t.Helper()
	if err := s.InsertAuditEvents(ctx, events); err != nil {
		t.Fatalf("insert audit events: %v", err)
	}
}

func listAudit(t *testing.T, s *store.Store, f models.AuditFilter) []models.AuditEvent {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 100
	}
	got, err := s.ListAuditEvents(ctx, f)
	if err != nil {
		t.Fatalf("list audit events %+v: %v", f, err)
	}
	return got
}

func requestIDs(events []models.AuditEvent) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.RequestID
	}
	return ids
}

func testAuditRoundTripAndFilters(t *testing.T, s *store.Store) {
	actor, other := auditActor(), auditActor()
	base := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	full := models.AuditEvent{
		At: base, ActorID: actor, ActorRole: "admin", Action: models.AuditUserDelete, Target: "users/9",
		Result: models.AuditSuccess, Rule: "admin, users, delete, any", PolicyVersion: "abc123",
		RequestID: "r1", ClientIP: "192.0.2.1", Detail: map[string]any{"username": "bob", "fields": []any{"email"}},
	}
	insertAudit(t, s,
		full,
		models.AuditEvent{At: base.Add(time.Second), ActorID: actor, Action: models.AuditDecisionDeny, Result: models.AuditDeny, RequestID: "r2"},
		models.AuditEvent{At: base.Add(2 * time.Second), ActorID: other, Action: models.AuditUserDelete, Result: models.AuditSuccess, RequestID: "r3"},
		models.AuditEvent{At: base.Add(3 * time.Second), ActorID: actor, Action: models.AuditUserDelete, Result: models.AuditSuccess, RequestID: "r4\x00\xff"},
	)

	got := listAudit(t, s, models.AuditFilter{ActorID: actor})
	if ids := requestIDs(got); !slices.Equal(ids, []string{"r4\ufffd", "r2", "r1"}) {
		t.Fatalf("actor %d, newest first: got request ids %q, want r4\ufffd, r2, r1", actor, ids)
	}
	first := got[2]
	want := full
	want.ID, want.At = first.ID, base.UTC().Truncate(time.Microsecond)
	want.Count, want.FirstAt = 1, want.At // a single event
	if !reflect.DeepEqual(first, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", first, want)
	}
	if first.At.Location() != time.UTC || first.FirstAt.Location() != time.UTC {
		t.Errorf("at, first_at: got locations %v, %v, want UTC", first.At.Location(), first.FirstAt.Location())
	}
	if len(got[1].Detail) != 0 {
		t.Errorf("event without detail: got detail %v, want empty", got[1].Detail)
	}

	got = listAudit(t, s, models.AuditFilter{ActorID: actor, Action: models.AuditUserDelete})
	if ids := requestIDs(got); !slices.Equal(ids, []string{"r4\ufffd", "r1"}) {
		t.Errorf("actor and action: got %q, want r4\ufffd, r1", ids)
	}
	// Since is inclusive and Until exclusive.
	got = listAudit(t, s, models.AuditFilter{Since: base.Add(time.Second), Until: base.Add(3 * time.Second)})
	if ids := requestIDs(got); !slices.Equal(ids, []string{"r3", "r2"}) {
		t.Errorf("since %v until %v: got %q, want r3, r2", base.Add(time.Second), base.Add(3*time.Second), ids)
	}
	got = listAudit(t, s, models.AuditFilter{ActorID: actor, Since: base.Add(500 * time.Millisecond)})
	if ids := requestIDs(got); !slices.Equal(ids, []string{"r4\ufffd", "r2"}) {
		t.Errorf("since between events: got %q, want r4\ufffd, r2", ids)
	}
}

// testAuditPages stores events whose ids are out of time order, as
// replicas writing batches leave them, some at the same time, and pages
// through them: newest first by time, ties by id, none skipped or repeated.
func testAuditPages(t *testing.T, s *store.Store) {
	actor := auditActor()
	base := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	// Seconds in the order of insertion; 2 and 4 appear twice.
	seconds := []int{5, 1, 4, 0, 2, 6, 4, 3, 2}
	type stored struct {
		second, inserted int
		id               string
	}
	var all []stored
	for i, sec := range seconds {
		id := fmt.Sprintf("page-%d", i)
		insertAudit(t, s, models.AuditEvent{At: base.Add(time.Duration(sec) * time.Second), ActorID: actor,
			Action: models.AuditLoginSuccess, Result: models.AuditSuccess, RequestID: id})
		all = append(all, stored{sec, i, id})
	}
	// Newest first; of one second, the later insert (the higher id) first.
	slices.SortFunc(all, func(a, b stored) int {
		if a.second != b.second {
			return b.second - a.second
		}
		return b.inserted - a.inserted
	})
	var want []string
	for _, a := range all {
		want = append(want, a.id)
	}
	for _, limit := range []int{1, 2, 3, 4} {
		var seen []string
		var before models.AuditPosition
		for range 20 {
			page := listAudit(t, s, models.AuditFilter{ActorID: actor, Before: before, Limit: limit})
			seen = append(seen, requestIDs(page)...)
			if len(page) < limit {
				break
			}
			last := page[len(page)-1]
			before = models.AuditPosition{At: last.At, ID: last.ID}
		}
		if !slices.Equal(seen, want) {
			t.Errorf("paged by %d: got %q, want %q", limit, seen, want)
		}
	}
}

func testAuditLargeInsert(t *testing.T, s *store.Store) {
	actor := auditActor()
	n := 2*store.MaxAuditBatch + 7
	events := make([]models.AuditEvent, n)
	for i := range events {
		events[i] = models.AuditEvent{ActorID: actor, Action: models.AuditDecisionDeny, Result: models.AuditDeny, Detail: map[string]any{"i": i}}
	}
	insertAudit(t, s, events...)
	insertAudit(t, s) // nothing to insert is not an error
	got := listAudit(t, s, models.AuditFilter{ActorID: actor, Limit: n + 1})
	if len(got) != n {
		t.Fatalf("got %d events, want %d", len(got), n)
	}
	if got[0].Detail["i"] != float64(n-1) || got[n-1].Detail["i"] != float64(0) {
		t.Errorf("order: got details %v ... %v, want i=%d ... i=0", got[0].Detail, got[n-1].Detail, n-1)
	}
	huge := models.AuditEvent{ActorID: actor, Action: models.AuditLoginFailure, Result: models.AuditFailure, Detail: map[string]any{"username": strings.Repeat("x", 20000)}}
	insertAudit(t, s, huge)
	got = listAudit(t, s, models.AuditFilter{ActorID: actor, Action: models.AuditLoginFailure})
	if len(got) != 1 || got[0].Detail["truncated"] != true {
		t.Errorf("oversized detail: got %+v, want it replaced by truncated=true", got)
	}
}

// testAuditAggregates stores aggregate events, which carry a count and
// the time of their first occurrence, beside single ones.
func testAuditAggregates(t *testing.T, s *store.Store) {
	actor := auditActor()
	last := time.Date(2030, 3, 4, 5, 6, 7, 891000, time.UTC)
	insertAudit(t, s,
		models.AuditEvent{At: last, FirstAt: last.Add(-59 * time.Second), Count: 2000, ActorID: actor,
			Action: models.AuditDecisionDeny, Result: models.AuditDeny, RequestID: "aggregate"},
		models.AuditEvent{At: last.Add(-time.Hour), ActorID: actor, Action: models.AuditDecisionDeny, Result: models.AuditDeny, RequestID: "single"},
	)
	got := listAudit(t, s, models.AuditFilter{ActorID: actor})
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	if a := got[0]; a.RequestID != "aggregate" || a.Count != 2000 || !a.At.Equal(last) || !a.FirstAt.Equal(last.Add(-59*time.Second)) {
		t.Errorf("aggregate: got %s count %d from %v to %v, want count 2000 from %v to %v",
			a.RequestID, a.Count, a.FirstAt, a.At, last.Add(-59*time.Second), last)
	}
	if one := got[1]; one.RequestID != "single" || one.Count != 1 || !one.FirstAt.Equal(one.At) {
		t.Errorf("single event: got %s count %d, first_at %v, at %v; want count 1 and first_at = at", one.RequestID, one.Count, one.FirstAt, one.At)
	}

	// An event written before migration 0006 has no first_at.
	db, err := s.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("UPDATE audit_events SET first_at = NULL WHERE actor_id = %d AND request_id = 'single'", actor)); err != nil {
		t.Fatal(err)
	}
	got = listAudit(t, s, models.AuditFilter{ActorID: actor})
	if old := got[1]; old.Count != 1 || !old.FirstAt.Equal(old.At) || old.FirstAt.Location() != time.UTC {
		t.Errorf("event without first_at: got count %d, first_at %v, at %v; want count 1 and first_at = at", old.Count, old.FirstAt, old.At)
	}
}

// testAuditPurge deletes the events older than a cutoff, oldest first, a
// batch per call; newer events stay.
func testAuditPurge(t *testing.T, s *store.Store) {
	actor := auditActor()
	cutoff := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // before every other test's events
	var events []models.AuditEvent
	for i := range 25 {
		events = append(events, models.AuditEvent{At: cutoff.Add(-time.Duration(25-i) * time.Hour), ActorID: actor,
			Action: models.AuditLoginSuccess, Result: models.AuditSuccess, RequestID: fmt.Sprint("old-", i)})
	}
	events = append(events,
		models.AuditEvent{At: cutoff, ActorID: actor, Action: models.AuditLoginSuccess, Result: models.AuditSuccess, RequestID: "at-cutoff"},
		models.AuditEvent{At: cutoff.Add(time.Hour), ActorID: actor, Action: models.AuditLoginSuccess, Result: models.AuditSuccess, RequestID: "new"})
	insertAudit(t, s, events...)
	for i, want := range []int64{10, 10, 5, 0} {
		n, err := s.PurgeAuditEvents(ctx, cutoff, 10)
		if err != nil || n != want {
			t.Fatalf("purge %d: got %d, %v; want %d", i+1, n, err, want)
		}
		left := requestIDs(listAudit(t, s, models.AuditFilter{ActorID: actor}))
		// The oldest go first: what is left is the newest of the old.
		if kept := 25 - 10*(i+1); kept > 0 && (len(left) != kept+2 || left[len(left)-1] != fmt.Sprint("old-", 25-kept)) {
			t.Fatalf("after purge %d: got %q, want the newest %d old events and the 2 new ones", i+1, left, kept)
		}
	}
	if left := requestIDs(listAudit(t, s, models.AuditFilter{ActorID: actor})); !slices.Equal(left, []string{"new", "at-cutoff"}) {
		t.Errorf("after purging: got %q, want the events at and after the cutoff", left)
	}
}

// TestAuditPurgeByTwoReplicas purges one trail from two stores at once,
// as two replicas' background loops may: neither fails or waits for the
// other, every old event goes exactly once, and the new ones stay.
func TestAuditPurgeByTwoReplicas(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			a, b := freshStore(t, target), freshStore(t, target)
			cutoff := time.Now().Add(-90 * 24 * time.Hour)
			const old = 3000
			events := make([]models.AuditEvent, 0, old+10)
			for i := range old {
				events = append(events, models.AuditEvent{At: cutoff.Add(-time.Duration(old-i) * time.Second),
					Action: models.AuditDecisionDeny, Result: models.AuditDeny})
			}
			for range 10 {
				events = append(events, models.AuditEvent{Action: models.AuditLoginSuccess, Result: models.AuditSuccess})
			}
			// In batches no larger than the audit writer's, each within the
			// store's operation timeout even on a loaded machine under -race.
			for batch := range slices.Chunk(events, store.MaxAuditBatch) {
				insertAudit(t, a, batch...)
			}

			var deleted [2]int64
			var wg sync.WaitGroup
			for i, s := range []*store.Store{a, b} {
				wg.Go(func() {
					for range 1000 { // a bound; 3,000 rows take at most 60 batches of 50 each
						n, err := s.PurgeAuditEvents(ctx, cutoff, 50)
						if err != nil {
							t.Errorf("replica %d: %v", i, err)
							return
						}
						deleted[i] += n
						if n == 0 {
							return
						}
					}
				})
			}
			wg.Wait()
			if deleted[0]+deleted[1] != old {
				t.Errorf("deleted %d and %d, want %d in all", deleted[0], deleted[1], old)
			}
			if left := listAudit(t, a, models.AuditFilter{Limit: 100}); len(left) != 10 {
				t.Errorf("left: got %d events, want the 10 new ones", len(left))
			}
			t.Logf("replicas deleted %d and %d", deleted[0], deleted[1])
		})
	}
}
