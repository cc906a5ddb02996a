package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
)

// auditEvent is an event as GET /v1/audit shows it.
type auditEvent struct {
	ID            int64          `json:"id"`
	At            time.Time      `json:"at"`
	ActorID       *int64         `json:"actor_id"`
	ActorRole     string         `json:"actor_role"`
	Action        string         `json:"action"`
	Target        string         `json:"target"`
	Result        string         `json:"result"`
	Rule          string         `json:"rule"`
	PolicyVersion string         `json:"policy_version"`
	RequestID     string         `json:"request_id"`
	ClientIP      string         `json:"client_ip"`
	Detail        map[string]any `json:"detail"`
}

type auditPage struct {
	Results []auditEvent `json:"results"`
	Next    *string      `json:"next"`
}

// auditTrail reads every page of GET /v1/audit?query, and returns the
// events and the raw bodies.
func (e *env) auditTrail(t *testing.T, token, query string) ([]auditEvent, string) {
	t.Helper()
	var all []auditEvent
	var raw strings.Builder
	path := "/v1/audit?" + query
	for range 100 {
		var body json.RawMessage
		resp := e.do(t, http.MethodGet, path, token, nil, &body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d %s, want 200", path, resp.StatusCode, body)
		}
		raw.Write(body)
		var page auditPage
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Results...)
		if page.Next == nil {
			return all, raw.String()
		}
		u, err := url.Parse(*page.Next)
		if err != nil {
			t.Fatal(err)
		}
		path = u.RequestURI()
	}
	t.Fatal("GET /v1/audit: more than 100 pages")
	return nil, ""
}

func byRequestID(events []auditEvent) map[string][]auditEvent {
	out := map[string][]auditEvent{}
	for _, ev := range events {
		out[ev.RequestID] = append(out[ev.RequestID], ev)
	}
	return out
}

// wantEvent is what one request must have left in the trail. actorID 0
// means no actor; detail lists only the keys to check.
type wantEvent struct {
	requestID, action string
	actorID           int64
	actorRole         string
	target, result    string
	rule              string
	detail            map[string]any
}

func checkEvent(t *testing.T, got auditEvent, want wantEvent, version string) {
	t.Helper()
	var actor int64
	if got.ActorID != nil {
		actor = *got.ActorID
	}
	if got.Action != want.action || actor != want.actorID || got.ActorRole != want.actorRole || got.Target != want.target ||
		got.Result != want.result || got.Rule != want.rule || got.PolicyVersion != version || got.ClientIP != "127.0.0.1" {
		t.Errorf("request %s: got %s by %d (%s) on %q: %s, rule %q, policy %s, from %s;\n"+
			"want %s by %d (%s) on %q: %s, rule %q, policy %s, from 127.0.0.1",
			want.requestID, got.Action, actor, got.ActorRole, got.Target, got.Result, got.Rule, got.PolicyVersion, got.ClientIP,
			want.action, want.actorID, want.actorRole, want.target, want.result, want.rule, version)
	}
	for k, v := range want.detail {
		if !reflect.DeepEqual(got.Detail[k], v) {
			t.Errorf("request %s, %s: got detail %s=%#v, want %#v", want.requestID, want.action, k, got.Detail[k], v)
		}
	}
	if got.At.IsZero() || time.Since(got.At) > time.Minute {
		t.Errorf("request %s: got time %v, want just now", want.requestID, got.At)
	}
}

type tokenPair struct{ Access, Refresh string }

// TestAuditTrail makes one request of every audited kind, each with its
// own X-Request-ID, and finds each in GET /v1/audit with the right actor,
// action, target, result, rule, policy version, request id and client IP,
// on every database under test.
func TestAuditTrail(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) { testAuditTrail(t, startOn(t, false, target.URL)) })
	}
}

func testAuditTrail(t *testing.T, e *env) {
	admin := e.login(t, "auditor", "admin")
	staff := e.login(t, "clerk", "staff")
	e.login(t, "alice", "user")
	e.login(t, "bob", "user")
	adminID, staffID, aliceID, bobID := e.userID(t, "auditor"), e.userID(t, "clerk"), e.userID(t, "alice"), e.userID(t, "bob")
	const (
		password      = "a long test password" // what login gives every user
		wrongPassword = "not alice's password at all"
		resetPassword = "a brand new secret for alice"
	)
	secrets := []string{password, wrongPassword, resetPassword, admin, staff}

	var pair tokenPair
	if got := e.doWithID(t, http.MethodPost, "/login/", "", "rid-login-ok", map[string]string{"username": "alice", "password": password}, &pair).StatusCode; got != http.StatusOK {
		t.Fatalf("login: got %d, want 200", got)
	}
	secrets = append(secrets, pair.Access, pair.Refresh)
	if got := e.doWithID(t, http.MethodPost, "/login/", "", "rid-login-bad", map[string]string{"username": "alice", "password": wrongPassword}, nil).StatusCode; got != http.StatusUnauthorized {
		t.Fatalf("bad login: got %d, want 401", got)
	}

	// A deny: the client learns the resource, action and policy version,
	// never a rule.
	var denied map[string]any
	resp := e.doWithID(t, http.MethodGet, "/admin-area/", staff, "rid-deny", nil, &denied)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("staff in the admin area: got %d, want 403", resp.StatusCode)
	}
	if _, ok := denied["rule"]; ok || strings.Contains(fmt.Sprint(denied), "admin, admin_area") {
		t.Errorf("403 body: got %v, want no rule", denied)
	}
	if got := e.doWithID(t, http.MethodDelete, fmt.Sprintf("/v1/users/%d", aliceID), staff, "rid-deny-owned", nil, nil).StatusCode; got != http.StatusForbidden {
		t.Fatalf("staff deleting alice: got %d, want 403", got)
	}
	// An allowed decision leaves no event of its own.
	if got := e.doWithID(t, http.MethodGet, "/admin-area/", admin, "rid-allow", nil, nil).StatusCode; got != http.StatusOK {
		t.Fatalf("admin in the admin area: got %d, want 200", got)
	}

	alice := fmt.Sprintf("/v1/users/%d", aliceID)
	if got := e.doWithID(t, http.MethodPatch, alice, admin, "rid-update", map[string]any{"role": "staff", "first_name": "Alice"}, nil).StatusCode; got != http.StatusOK {
		t.Fatalf("update alice: got %d, want 200", got)
	}
	if got := e.doWithID(t, http.MethodPost, alice+"/password", admin, "rid-reset", map[string]string{"new_password": resetPassword}, nil).StatusCode; got != http.StatusOK {
		t.Fatalf("reset alice's password: got %d, want 200", got)
	}
	if got := e.doWithID(t, http.MethodDelete, alice, admin, "rid-delete", nil, nil).StatusCode; got != http.StatusNoContent {
		t.Fatalf("delete alice: got %d, want 204", got)
	}

	// Refresh reuse: spend bob's first refresh token, then present it again.
	var bob, bob2 tokenPair
	e.do(t, http.MethodPost, "/login/", "", map[string]string{"username": "bob", "password": password}, &bob)
	e.do(t, http.MethodPost, "/token/refresh/", "", map[string]string{"refresh": bob.Refresh}, &bob2)
	secrets = append(secrets, bob.Access, bob.Refresh, bob2.Access, bob2.Refresh)
	if got := e.doWithID(t, http.MethodPost, "/token/refresh/", "", "rid-reuse", map[string]string{"refresh": bob.Refresh}, nil).StatusCode; got != http.StatusUnauthorized {
		t.Fatalf("refresh reuse: got %d, want 401", got)
	}

	if got := e.doWithID(t, http.MethodPost, "/v1/policy/reload", admin, "rid-reload", nil, nil).StatusCode; got != http.StatusOK {
		t.Fatalf("reload: got %d, want 200", got)
	}
	// A reload the server does by itself (as on SIGHUP), of a broken file.
	replace(t, e.policyFile, e.read(t, e.policyFile)+"p, staff, users\n")
	if res := e.srv.Policy.Reload(context.Background(), "sighup"); res.OK {
		t.Fatalf("reload of a broken policy: got %+v, want a failure", res)
	}

	// The trail is for admins only.
	if got := e.doWithID(t, http.MethodGet, "/v1/audit", staff, "rid-staff-audit", nil, nil).StatusCode; got != http.StatusForbidden {
		t.Errorf("staff GET /v1/audit: got %d, want 403", got)
	}
	if got := e.do(t, http.MethodGet, "/v1/audit", "", nil, nil).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("anonymous GET /v1/audit: got %d, want 401", got)
	}

	wants := []wantEvent{
		{"rid-login-ok", models.AuditLoginSuccess, aliceID, "user", fmt.Sprintf("users/%d", aliceID), "success", "", nil},
		{"rid-login-bad", models.AuditLoginFailure, 0, "anonymous", "", "failure", "", map[string]any{"username": "alice", "reason": "no_active_account"}},
		{"rid-deny", models.AuditDecisionDeny, staffID, "staff", "admin_area", "deny", "", map[string]any{"resource": "admin_area", "action": "read"}},
		{"rid-deny-owned", models.AuditDecisionDeny, staffID, "staff", fmt.Sprintf("users/%d", aliceID), "deny", "", map[string]any{"resource": "users", "action": "delete", "owner_id": float64(aliceID)}},
		{"rid-update", models.AuditUserUpdate, adminID, "admin", fmt.Sprintf("users/%d", aliceID), "success", "admin, users, update, any", map[string]any{"fields": []any{"first_name"}}},
		{"rid-update", models.AuditUserRoleChange, adminID, "admin", fmt.Sprintf("users/%d", aliceID), "success", "admin, users, assign_role, any", map[string]any{"role": map[string]any{"from": "user", "to": "staff"}}},
		{"rid-reset", models.AuditUserPasswordReset, adminID, "admin", fmt.Sprintf("users/%d", aliceID), "success", "admin, users, reset_password, any", nil},
		{"rid-delete", models.AuditUserDelete, adminID, "admin", fmt.Sprintf("users/%d", aliceID), "success", "admin, users, delete, any", map[string]any{"username": "alice", "role": "staff"}},
		{"rid-reuse", models.AuditRefreshReuse, bobID, "", fmt.Sprintf("users/%d", bobID), "failure", "", nil},
		{"rid-reload", models.AuditPolicyReload, adminID, "admin", "policy", "success", "admin, policy, reload, any", map[string]any{"trigger": "api", "changed": false}},
		{"rid-staff-audit", models.AuditDecisionDeny, staffID, "staff", "audit", "deny", "", map[string]any{"resource": "audit", "action": "read"}},
	}
	var events []auditEvent
	var raw string
	waitFor(t, 5*time.Second, "every event in GET /v1/audit", func() bool {
		events, raw = e.auditTrail(t, admin, "limit=7")
		seen := byRequestID(events)
		for _, w := range wants {
			if len(seen[w.requestID]) == 0 {
				return false
			}
		}
		return len(seen["rid-update"]) == 2 && countAction(events, models.AuditPolicyReload) == 3
	})
	version := e.srv.Policy.Current().Version()
	seen := byRequestID(events)
	for _, w := range wants {
		got, ok := find(seen[w.requestID], w.action)
		if !ok {
			t.Errorf("request %s: got %+v, want a %s event", w.requestID, seen[w.requestID], w.action)
			continue
		}
		checkEvent(t, got, w, version)
	}
	if got := seen["rid-allow"]; len(got) != 0 {
		t.Errorf("allowed request: got events %+v, want none", got)
	}
	checkSystemReloads(t, seen[""], version)
	checkNewestFirst(t, events)

	for _, s := range secrets {
		if strings.Contains(raw, s) {
			t.Errorf("GET /v1/audit holds a password or token: %q", s)
		}
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the log holds a password or token: %q", s)
		}
	}
	if !strings.Contains(e.logs.String(), `"msg":"audit","action":"user.delete"`) {
		t.Errorf("log: got no audit line for the delete")
	}
}

func find(events []auditEvent, action string) (auditEvent, bool) {
	for _, ev := range events {
		if ev.Action == action {
			return ev, true
		}
	}
	return auditEvent{}, false
}

func countAction(events []auditEvent, action string) int {
	n := 0
	for _, ev := range events {
		if ev.Action == action {
			n++
		}
	}
	return n
}

// checkSystemReloads checks the reloads the server did by itself: the
// policy it started with, and the failed one.
func checkSystemReloads(t *testing.T, events []auditEvent, version string) {
	t.Helper()
	triggers := map[string]auditEvent{}
	for _, ev := range events {
		if ev.Action == models.AuditPolicyReload {
			triggers[fmt.Sprint(ev.Detail["trigger"])] = ev
		}
	}
	for trigger, result := range map[string]string{"startup": "success", "sighup": "failure"} {
		ev, ok := triggers[trigger]
		if !ok || ev.ActorID != nil || ev.ActorRole != models.SystemRole || ev.Result != result || ev.PolicyVersion != version {
			t.Errorf("%s reload: got %+v, want a %s by the system under %s", trigger, ev, result, version)
		}
	}
	if errs, _ := triggers["sighup"].Detail["errors"].([]any); len(errs) != 1 {
		t.Errorf("failed reload: got errors %v, want the one broken line", triggers["sighup"].Detail["errors"])
	}
}

// checkNewestFirst checks the trail's order: newest first by time, and by
// id among events of one time.
func checkNewestFirst(t *testing.T, events []auditEvent) {
	t.Helper()
	for i := 1; i < len(events); i++ {
		prev, ev := events[i-1], events[i]
		if ev.At.After(prev.At) || ev.At.Equal(prev.At) && ev.ID >= prev.ID {
			t.Fatalf("order: event %d (%v, id %d) after (%v, id %d), want newest first, ties by highest id", i, ev.At, ev.ID, prev.At, prev.ID)
		}
	}
}

func TestAuditFilters(t *testing.T) {
	e := start(t, false)
	admin := e.login(t, "auditor", "admin")
	staff := e.login(t, "clerk", "staff")
	staffID := e.userID(t, "clerk")
	for range 3 {
		e.do(t, http.MethodGet, "/admin-area/", staff, nil, nil)
	}
	waitFor(t, 5*time.Second, "three denials", func() bool {
		events, _ := e.auditTrail(t, admin, "action=decision.deny")
		return len(events) == 3
	})
	events, _ := e.auditTrail(t, admin, fmt.Sprintf("actor=%d", staffID))
	if got := countAction(events, models.AuditDecisionDeny); got != 3 || len(events) != 4 {
		t.Errorf("actor=%d: got %d events, %d of them denials; want the login and 3 denials", staffID, len(events), got)
	}
	now := time.Now().UTC()
	if events, _ := e.auditTrail(t, admin, "since="+now.Add(time.Minute).Format(time.RFC3339)); len(events) != 0 {
		t.Errorf("since a minute from now: got %d events, want none", len(events))
	}
	if events, _ := e.auditTrail(t, admin, "until="+now.Add(-time.Hour).Format(time.RFC3339)); len(events) != 0 {
		t.Errorf("until an hour ago: got %d events, want none", len(events))
	}
	window := url.Values{"since": {now.Add(-time.Hour).Format(time.RFC3339Nano)}, "until": {now.Add(time.Hour).Format(time.RFC3339Nano)}, "action": {"decision.deny"}}
	if events, _ := e.auditTrail(t, admin, window.Encode()); len(events) != 3 {
		t.Errorf("%s: got %d events, want 3", window.Encode(), len(events))
	}
	for _, bad := range []string{"actor=abc", "actor=0", "action=user.frobnicate", "since=yesterday", "until=2024-13-01T00:00:00Z",
		"since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z", "limit=0", "cursor=nope"} {
		var body map[string]any
		if got := e.do(t, http.MethodGet, "/v1/audit?"+bad, admin, nil, &body).StatusCode; got != http.StatusBadRequest {
			t.Errorf("GET /v1/audit?%s: got %d %v, want 400", bad, got, body)
		}
	}
	var page auditPage
	e.do(t, http.MethodGet, "/v1/audit?limit=1000", admin, nil, &page)
	if page.Next != nil || len(page.Results) > 200 {
		t.Errorf("limit=1000: got %d results, next %v; want all of the few events, capped at 200", len(page.Results), page.Next)
	}
	body := getText(t, e.metrics)
	if !regexp.MustCompile(`rolegate_audit_events_total\{outcome="written"\} [1-9]`).MatchString(body) ||
		!strings.Contains(body, `rolegate_audit_events_total{outcome="dropped"} 0`) {
		t.Errorf("metrics: want rolegate_audit_events_total with some written and none dropped, got\n%s", grep(body, "rolegate_audit"))
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRequestID(t *testing.T) {
	e := start(t, false)
	generated := regexp.MustCompile(`^[A-Z2-7]{26}$`)
	for _, c := range []struct{ sent, want string }{
		{"client-chosen_id.42", "client-chosen_id.42"},
		{strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{strings.Repeat("a", 129), ""},
		{"has space", ""},
		{"line\u2028break", ""},
		{"", ""},
	} {
		resp := e.doWithID(t, http.MethodGet, "/healthz", "", c.sent, nil, nil)
		got := resp.Header.Get("X-Request-ID")
		if c.want != "" && got != c.want || c.want == "" && !generated.MatchString(got) {
			t.Errorf("sent X-Request-ID %q: got %q, want %q", c.sent, got, orElse(c.want, "a new random id"))
		}
	}
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestAuditOrderAcrossReplicas writes events from two recorders, as two
// replicas would: each batches its events, so the one that writes last
// gives higher ids to events older than the other's. GET /v1/audit must
// still list them newest first by time, ties by id, and page through
// them without skipping or repeating one, on every database under test.
func TestAuditOrderAcrossReplicas(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) { testAuditOrderAcrossReplicas(t, startOn(t, false, target.URL)) })
	}
}

func testAuditOrderAcrossReplicas(t *testing.T, e *env) {
	admin := e.login(t, "auditor", "admin")
	base := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	// Neither recorder writes until it is closed: one batch each.
	early := audit.New(e.srv.Store, audit.Options{FlushInterval: time.Hour})
	late := audit.New(e.srv.Store, audit.Options{FlushInterval: time.Hour})
	var want []string // request ids, newest first
	for i := 9; i >= 0; i-- {
		rec := early
		if i%2 == 1 {
			rec = late // the odd seconds get the higher ids
		}
		id := fmt.Sprintf("order-%d", i)
		rec.Record(context.Background(), models.AuditEvent{
			At: base.Add(time.Duration(i) * time.Second), Action: models.AuditPolicyReload, Result: models.AuditSuccess, RequestID: id,
		})
		want = append(want, id)
	}
	// Two events at one time, one from each replica: the higher id first.
	tie := base.Add(10 * time.Second)
	early.Record(context.Background(), models.AuditEvent{At: tie, Action: models.AuditPolicyReload, Result: models.AuditSuccess, RequestID: "tie-low"})
	late.Record(context.Background(), models.AuditEvent{At: tie, Action: models.AuditPolicyReload, Result: models.AuditSuccess, RequestID: "tie-high"})
	want = append([]string{"tie-high", "tie-low"}, want...)
	for _, rec := range []*audit.Recorder{early, late} {
		if err := rec.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	window := url.Values{"since": {base.Format(time.RFC3339)}, "until": {base.Add(time.Minute).Format(time.RFC3339)}}
	for _, limit := range []int{1, 2, 3, 5, 200} {
		events, _ := e.auditTrail(t, admin, window.Encode()+"&limit="+strconv.Itoa(limit))
		var got []string
		for _, ev := range events {
			got = append(got, ev.RequestID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("paged by %d: got %q, want %q", limit, got, want)
		}
	}
	// The ids really are out of time order, or the test proves nothing.
	events, _ := e.auditTrail(t, admin, window.Encode())
	ids := make([]int64, len(events))
	outOfOrder := false
	for i, ev := range events {
		ids[i] = ev.ID
		outOfOrder = outOfOrder || i > 0 && ev.ID > ids[i-1]
	}
	if !outOfOrder {
		t.Fatalf("got ids %v, newest first; want some newer events stored with lower ids", ids)
	}
}

// TestAuditCursorIsChecked: a cursor is the server's own, or a 400 that
// names it; one edited by hand is refused, not read as some other page.
func TestAuditCursorIsChecked(t *testing.T) {
	e := start(t, false)
	admin := e.login(t, "auditor", "admin")
	e.login(t, "clerk", "staff")
	waitFor(t, 5*time.Second, "two logins in the trail", func() bool {
		events, _ := e.auditTrail(t, admin, "action=login.success")
		return len(events) == 2
	})
	var page auditPage
	if resp := e.do(t, http.MethodGet, "/v1/audit?limit=1", admin, nil, &page); resp.StatusCode != http.StatusOK || page.Next == nil {
		t.Fatalf("first page: got %d, next %v; want 200 with a next page", resp.StatusCode, page.Next)
	}
	next, err := url.Parse(*page.Next)
	if err != nil {
		t.Fatal(err)
	}
	good := next.Query().Get("cursor")
	raw, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil {
		t.Fatalf("cursor %q: %v", good, err)
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		t.Fatalf("cursor %q decodes to %q, want MICROS.ID", good, raw)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	// Each is malformed, or another spelling of a position: a cursor is
	// not signed, so a well-formed edit is just another place to start,
	// as in the user list, and shows nothing the caller may not read.
	for _, bad := range []string{
		"nope", good + "=", "%00", enc(id), enc(micros), enc(micros + "." + id + "x"), enc("0" + micros + "." + id),
		enc("+" + micros + "." + id), enc(micros + ".0" + id), enc(micros + ".-" + id), enc(micros + ".0"),
		enc(micros + "." + id + " "), enc("99999999999999999999." + id), enc(micros + "." + id + "." + id),
	} {
		var body map[string]any
		resp := e.do(t, http.MethodGet, "/v1/audit?cursor="+url.QueryEscape(bad), admin, nil, &body)
		if resp.StatusCode != http.StatusBadRequest || body["cursor"] == nil {
			t.Errorf("cursor %q: got %d %v, want 400 naming the cursor", bad, resp.StatusCode, body)
		}
	}
	if resp := e.do(t, http.MethodGet, "/v1/audit?cursor="+good, admin, nil, &page); resp.StatusCode != http.StatusOK || len(page.Results) == 0 {
		t.Errorf("the server's own cursor: got %d with %d events, want 200 and the next page", resp.StatusCode, len(page.Results))
	}
}
