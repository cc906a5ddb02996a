package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestMetricsCountRealRequests sends requests of every kind the metrics
// distinguish and checks each series and its count on /metrics.
func TestMetricsCountRealRequests(t *testing.T) {
	e := start(t, false)
	e.login(t, "alice", "user") // POST /login/ 200
	var wrong map[string]any
	if r := e.do(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": "alice", "password": "not the password"}, &wrong); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong login: got %d, want 401", r.StatusCode)
	}
	var pair struct{ Access, Refresh string }
	if r := e.do(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": "alice", "password": "a long test password"}, &pair); r.StatusCode != http.StatusOK {
		t.Fatalf("login: got %d, want 200", r.StatusCode)
	}
	for range 2 {
		if r := e.do(t, http.MethodGet, "/user-area/", pair.Access, nil, nil); r.StatusCode != http.StatusOK {
			t.Fatalf("user area: got %d, want 200", r.StatusCode)
		}
	}
	if r := e.do(t, http.MethodGet, "/admin-area/", pair.Access, nil, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("admin area: got %d, want 403", r.StatusCode)
	}
	if r := e.do(t, http.MethodGet, "/nowhere", "", nil, nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: got %d, want 404", r.StatusCode)
	}
	if r := e.do(t, "BREW", "/healthz", "", nil, nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("BREW /healthz: got %d, want 405", r.StatusCode)
	}
	refresh := map[string]string{"refresh": pair.Refresh}
	for _, want := range []int{http.StatusOK, http.StatusUnauthorized} { // the second is a reuse
		if r := e.do(t, http.MethodPost, "/v1/auth/refresh", "", refresh, nil); r.StatusCode != want {
			t.Fatalf("refresh: got %d, want %d", r.StatusCode, want)
		}
	}
	if r := e.do(t, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refresh": "not.a.token"}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad refresh: got %d, want 401", r.StatusCode)
	}

	body := getText(t, e.metrics)
	for _, want := range []string{
		`rolegate_http_requests_total{method="POST",route="/login/",status="200"} 1`,
		`rolegate_http_requests_total{method="POST",route="/v1/auth/login",status="401"} 1`,
		`rolegate_http_requests_total{method="POST",route="/v1/auth/login",status="200"} 1`,
		`rolegate_http_requests_total{method="GET",route="/user-area/",status="200"} 2`,
		`rolegate_http_requests_total{method="GET",route="/admin-area/",status="403"} 1`,
		`rolegate_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`rolegate_http_requests_total{method="other",route="unmatched",status="405"} 1`,
		`rolegate_http_requests_total{method="POST",route="/v1/auth/refresh",status="200"} 1`,
		`rolegate_http_requests_total{method="POST",route="/v1/auth/refresh",status="401"} 2`,
		`rolegate_http_request_duration_seconds_count{method="GET",route="/user-area/",status="200"} 2`,
		`rolegate_http_request_duration_seconds_bucket{method="GET",route="/user-area/",status="200",le="+Inf"} 2`,
		`rolegate_authz_decisions_total{action="read",resource="user_area",result="allow"} 2`,
		`rolegate_authz_decisions_total{action="read",resource="admin_area",result="deny"} 1`,
		`rolegate_logins_total{result="success"} 2`,
		`rolegate_logins_total{result="failure"} 1`,
		`rolegate_logins_total{result="throttled"} 0`,
		`rolegate_token_refreshes_total{result="success"} 1`,
		`rolegate_token_refreshes_total{result="reuse"} 1`,
		`rolegate_token_refreshes_total{result="failure"} 1`,
		`go_sql_max_open_connections{db_name="rolegate"} 8`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want+"\n") && !(strings.HasSuffix(want, " ") && strings.Contains(body, want)) {
			t.Errorf("metrics: missing %s\n%s", want, grep(body, strings.Fields(strings.SplitN(want, "{", 2)[0])[0]))
		}
	}
}
