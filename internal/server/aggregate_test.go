package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
)

// aggregateEvent is an audit event with the fields of an aggregate.
type aggregateEvent struct {
	auditEvent
	Count   int64     `json:"count"`
	FirstAt time.Time `json:"first_at"`
}

// TestAnonymousDenialsAreAggregated sends 2,000 forward requests without
// a token, as a scanner would, each for another user id, and a few
// denials of a signed-in user. The anonymous ones leave a few aggregate
// events whose counts add up to 2,000, a few log lines, and metrics that
// say so; the signed-in user's denials stay one event each. On every
// database under test.
func TestAnonymousDenialsAreAggregated(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) { testAnonymousDenialsAreAggregated(t, startForwardOn(t, false, target.URL)) })
	}
}

func testAnonymousDenialsAreAggregated(t *testing.T, e *env) {
	const flood, signedIn = 2000, 5
	admin := e.login(t, "auditor", "admin")
	user := e.login(t, "uma", "user")
	for range signedIn {
		if a := e.nginx(t, user, "GET", "/api/users"); a.status != http.StatusForbidden {
			t.Fatalf("user lists users: got %d, want 403", a.status)
		}
	}
	logBefore := len(e.logs.String())

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < flood; i += 4 {
				req, _ := http.NewRequest(http.MethodGet, e.base+"/v1/authz/forward", nil)
				req.Header.Set("X-Original-Method", "GET")
				req.Header.Set("X-Original-URI", fmt.Sprintf("/api/users/%d", i+1))
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("anonymous request %d: got %d, want 401", i, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	// Close writes the aggregates of the window in progress; reading the
	// trail needs only the database.
	if err := e.srv.Audit.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	logBytes := len(e.logs.String()) - logBefore

	events := e.aggregates(t, admin, "action=decision.deny")
	var anonymous []aggregateEvent
	var total, single int64
	for _, ev := range events {
		switch ev.ActorRole {
		case "anonymous":
			anonymous = append(anonymous, ev)
			total += ev.Count
		case "user":
			if ev.Count != 1 || !ev.FirstAt.Equal(ev.At) || ev.Target != "users" {
				t.Errorf("signed-in denial: got count %d from %v to %v on %s, want one event of its own", ev.Count, ev.FirstAt, ev.At, ev.Target)
			}
			single++
		}
	}
	if len(anonymous) > 200 || total != flood || single != signedIn {
		t.Fatalf("got %d anonymous events counting %d, and %d signed-in ones; want at most 200 counting %d, and %d",
			len(anonymous), total, single, flood, signedIn)
	}
	for _, ev := range anonymous {
		if ev.ClientIP != "127.0.0.1" || ev.Target != "users" || ev.Result != "deny" || ev.Detail["route"] != "/v1/authz/forward" ||
			ev.Detail["reason"] != "not_authenticated" || ev.Detail["resource"] != "users" || ev.Detail["action"] != "read" ||
			ev.FirstAt.After(ev.At) || ev.RequestID == "" {
			t.Errorf("aggregate: got %+v, want 127.0.0.1's denials of users read on /v1/authz/forward, not_authenticated, with their first time and request", ev)
		}
	}
	t.Logf("%d anonymous denials: %d audit events, %d bytes of log (%.1f per denial)", flood, len(anonymous), logBytes, float64(logBytes)/flood)
	// Before aggregation each denial wrote an access line and an audit
	// line, 646 bytes; now the flood writes two lines per aggregate: the
	// access line of its first request and the aggregate's audit line.
	if max := 2 * 1024 * len(anonymous); logBytes > max {
		t.Errorf("log: the flood wrote %d bytes, want at most %d (two lines per aggregate)", logBytes, max)
	}
	metrics := getText(t, e.metrics)
	for _, want := range []string{
		fmt.Sprintf("rolegate_audit_aggregated_total %d", flood),
		fmt.Sprintf("rolegate_audit_suppressed_total %d", flood-len(anonymous)),
		"rolegate_audit_overflow_total 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics: want %s, got\n%s", want, grep(metrics, "rolegate_audit"))
		}
	}
}

// aggregates reads every page of GET /v1/audit?query with the aggregate
// fields.
func (e *env) aggregates(t *testing.T, token, query string) []aggregateEvent {
	t.Helper()
	var all []aggregateEvent
	path := "/v1/audit?limit=200&" + query
	for range 100 {
		var page struct {
			Results []aggregateEvent
			Next    *string
		}
		if resp := e.do(t, http.MethodGet, path, token, nil, &page); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200", path, resp.StatusCode)
		}
		all = append(all, page.Results...)
		if page.Next == nil {
			return all
		}
		path = strings.TrimPrefix(*page.Next, e.base)
	}
	t.Fatal("GET /v1/audit: more than 100 pages")
	return nil
}
