package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// TestThrottledAttemptsAreAggregated floods a blocked account's login and
// a blocked address's signup. Each 429 is counted into one aggregate event
// per route (one client, one minute), not recorded one by one, and a
// refused login is a login.failure only when it was checked. GET
// /v1/audit shows the counts; the event shape is checked against the
// OpenAPI document like every response.
func TestThrottledAttemptsAreAggregated(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, map[string]string{"ROLEGATE_ARGON2_MEMORY_KIB": "64"})
		const logins, signups = 150, 100
		u := e.storedUser(t, roleUser)
		admin := *e.admin
		e.login(t, &admin) // before the address has any failure
		for i := range logins {
			r := e.loginAs(t, u.Username, "wrong-"+newPassword(), "")
			if i < 3 {
				wantBadCredentials(t, r)
			} else {
				wantThrottled(t, r)
			}
		}
		for i := range signups + 2 {
			r := e.do(t, http.MethodPost, "/v1/auth/signup", "", obj{"username": unique("joiner"), "password": newPassword()})
			if i < 2 {
				wantStatus(t, r, http.StatusCreated)
			} else {
				wantThrottled(t, r)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Audit.Close(ctx); err != nil {
			t.Fatal(err)
		}

		throttled := e.auditEvents(t, admin.Access, models.AuditRequestThrottled)
		want := map[string]int64{"/v1/auth/login": logins - 3, "/v1/auth/signup": signups}
		got := map[string]int64{}
		for _, ev := range throttled {
			got[ev.Target] += ev.Count
			if ev.ClientIP != "127.0.0.1" || ev.ActorRole != roleAnonymous || ev.Result != models.AuditFailure ||
				ev.Detail["route"] != ev.Target || ev.Detail["method"] != http.MethodPost || ev.FirstAt.After(ev.At) {
				t.Errorf("throttled aggregate: got %+v, want 127.0.0.1's anonymous POSTs to its route", ev)
			}
		}
		if len(throttled) > 4 || got["/v1/auth/login"] != want["/v1/auth/login"] || got["/v1/auth/signup"] != want["/v1/auth/signup"] {
			t.Errorf("request.throttled: got %d events counting %v, want at most 4 (a route in one or two minutes) counting %v", len(throttled), got, want)
		}
		if failures := e.auditEvents(t, admin.Access, models.AuditLoginFailure); len(failures) != 3 {
			t.Errorf("login.failure: got %d events, want the 3 checked failures only", len(failures))
		}
	})
}

// TestAnonymousAPIDenialsAreAggregated: the API's own denials of a caller
// without a token (here, signups that ask for a role) are aggregated like
// the forward endpoint's, and a signed-in caller's stay one event each.
func TestAnonymousAPIDenialsAreAggregated(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = freshEnv(t, e, shippedPolicy)
		const n = 60
		for range n {
			r := e.do(t, http.MethodPost, "/v1/auth/signup", "", obj{"username": unique("climber"), "password": newPassword(), "role": roleAdmin})
			wantStatus(t, r, http.StatusForbidden)
		}
		staff := e.newUser(t, roleStaff)
		for range 3 {
			wantStatus(t, e.do(t, http.MethodGet, "/v1/audit", staff.Access, nil), http.StatusForbidden)
		}
		admin := *e.admin
		e.login(t, &admin)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Audit.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var anonymous, signedIn int64
		var aggregates int
		for _, ev := range e.auditEvents(t, admin.Access, models.AuditDecisionDeny) {
			switch ev.ActorRole {
			case roleAnonymous:
				aggregates++
				anonymous += ev.Count
				if ev.Target != "users" || ev.Detail["route"] != "/v1/auth/signup" || ev.Detail["action"] != "assign_role" ||
					ev.Detail["reason"] != "permission_denied" || ev.ClientIP != "127.0.0.1" {
					t.Errorf("anonymous denial: got %+v, want 127.0.0.1's assign_role on users through /v1/auth/signup", ev)
				}
			case roleStaff:
				signedIn += ev.Count
				if ev.Count != 1 || ev.Target != "audit" {
					t.Errorf("staff denial: got count %d on %s, want one event on audit", ev.Count, ev.Target)
				}
			}
		}
		if aggregates > 2 || anonymous != n || signedIn != 3 {
			t.Errorf("got %d anonymous events counting %d and %d staff denials, want one or two counting %d, and 3", aggregates, anonymous, signedIn, n)
		}
	})
}

// auditEvent is an event as GET /v1/audit shows it.
type auditEvent struct {
	ID        int64
	At        time.Time
	FirstAt   time.Time `json:"first_at"`
	Count     int64
	ActorRole string `json:"actor_role"`
	Action    string
	Target    string
	Result    string
	ClientIP  string `json:"client_ip"`
	Detail    map[string]any
}

// auditEvents reads every event of action from GET /v1/audit.
func (e *env) auditEvents(t *testing.T, token, action string) []auditEvent {
	t.Helper()
	var all []auditEvent
	path := "/v1/audit?limit=200&action=" + action
	for range 100 {
		r := e.do(t, http.MethodGet, path, token, nil)
		wantStatus(t, r, http.StatusOK)
		var page struct {
			Results []auditEvent
			Next    *string
		}
		r.decode(t, &page)
		all = append(all, page.Results...)
		if page.Next == nil {
			return all
		}
		path = *page.Next
	}
	t.Fatalf("GET /v1/audit?action=%s: more than 100 pages", action)
	return nil
}
