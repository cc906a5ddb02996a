package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/server"
)

// forwardRoutes is the route table of the forward tests: an upstream with
// a public area that anonymous callers may read, users, and an admin area.
const forwardRoutes = `# forward test routes
route, GET,    /api/public/*,  public,     read,   -
route, GET,    /api/users,     users,      list,   -
route, GET,    /api/users/:id, users,      read,   :id
route, PATCH,  /api/users/:id, users,      update, :id
route, DELETE, /api/users/:id, users,      delete, :id
route, *,      /api/admin/*,   admin_area, read,   -
`

// startForward starts a server with forwardRoutes and a policy that lets
// anonymous callers read the public area.
func startForward(t *testing.T, watch bool) *env {
	t.Helper()
	return startForwardOn(t, watch, "")
}

// startForwardOn is startForward on the database at databaseURL; "" means
// a new SQLite file.
func startForwardOn(t *testing.T, watch bool, databaseURL string) *env {
	t.Helper()
	e := startOn(t, watch, databaseURL)
	replace(t, e.policyFile, e.read(t, e.policyFile)+"p, anonymous, public, read, any\n")
	replace(t, e.routesFile, forwardRoutes)
	if res := e.srv.Policy.Reload(context.Background(), "test"); !res.OK {
		t.Fatalf("reload: %+v", res)
	}
	return e
}

// forwardAnswer is a response of the forward endpoint.
type forwardAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a forwardAnswer) code() string {
	s, _ := a.body["code"].(string)
	return s
}

// ask sends a request to rolegate's path with the given method and
// headers, as a proxy would, and reads the JSON answer. path is sent as
// it is, without any cleaning.
func (e *env) ask(t *testing.T, method, path, token string, headers ...string) forwardAnswer {
	t.Helper()
	u, _ := url.Parse(e.base)
	req, err := http.NewRequest(method, e.base, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: path}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := forwardAnswer{status: resp.StatusCode, header: resp.Header}
	if method != http.MethodHead {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, data, err)
		}
	}
	return a
}

// nginx asks about method and uri the way nginx's auth_request does.
func (e *env) nginx(t *testing.T, token, method, uri string) forwardAnswer {
	t.Helper()
	return e.ask(t, http.MethodGet, "/v1/authz/forward", token, "X-Original-Method", method, "X-Original-URI", uri)
}

func TestForwardAllowsAndNamesTheUser(t *testing.T) {
	e := startForward(t, false)
	admin := e.login(t, "root", "admin")
	a := e.nginx(t, admin, "GET", "/api/users?limit=5")
	if a.status != http.StatusOK || len(a.body) != 0 {
		t.Fatalf("admin lists users: got %d %v, want 200 {}", a.status, a.body)
	}
	if got, want := a.header.Get("X-User-Id"), strconv.FormatInt(e.userID(t, "root"), 10); got != want {
		t.Errorf("X-User-Id: got %q, want %q", got, want)
	}
	if got := a.header.Get("X-User-Role"); got != "admin" {
		t.Errorf("X-User-Role: got %q, want admin", got)
	}
	if got, want := a.header.Get("X-Policy-Version"), e.srv.Policy.Current().Version(); got != want {
		t.Errorf("X-Policy-Version: got %s, want %s", got, want)
	}

	var pol struct {
		Origin struct {
			RoutesFile string `json:"routes_file"`
		}
		Routes []struct {
			Line         int
			Method, Path string
		}
	}
	e.do(t, http.MethodGet, "/v1/policy", admin, nil, &pol)
	if pol.Origin.RoutesFile != e.routesFile || len(pol.Routes) != 6 || pol.Routes[0].Line != 2 || pol.Routes[0].Path != "/api/public/*" {
		t.Errorf("GET /v1/policy: got %+v, want the 6 routes of %s", pol, e.routesFile)
	}
}

func TestForwardAnonymousCallers(t *testing.T) {
	e := startForward(t, false)
	for name, token := range map[string]string{"no token": "", "a bad token": "not.a.token"} {
		a := e.nginx(t, token, "GET", "/api/public/page")
		if a.status != http.StatusOK {
			t.Errorf("%s, public page: got %d %v, want 200", name, a.status, a.body)
		}
		// The headers are sent empty, so the proxy overwrites any the
		// client sent under those names.
		for _, h := range []string{"X-User-Id", "X-User-Role"} {
			if v, ok := a.header[h]; !ok || len(v) != 1 || v[0] != "" {
				t.Errorf("%s, public page: got %s %q, want it present and empty", name, h, v)
			}
		}
	}
	cases := map[string]string{"": "not_authenticated", "not.a.token": "token_not_valid"}
	for token, code := range cases {
		a := e.nginx(t, token, "GET", "/api/users")
		if a.status != http.StatusUnauthorized || a.code() != code || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %q, users list: got %d %v %q, want 401 %s with WWW-Authenticate", token, a.status, a.body, a.header.Get("WWW-Authenticate"), code)
		}
		if _, ok := a.header["X-User-Id"]; ok {
			t.Errorf("token %q, refused: got X-User-Id, want none", token)
		}
	}
}

func TestForwardDeniesAnAuthenticatedCaller(t *testing.T) {
	e := startForward(t, false)
	user := e.login(t, "uma", "user")
	a := e.nginx(t, user, "GET", "/api/users")
	if a.status != http.StatusForbidden || a.code() != "permission_denied" || a.body["resource"] != "users" || a.body["action"] != "list" {
		t.Errorf("user lists users: got %d %v, want 403 permission_denied for users list", a.status, a.body)
	}
	if _, ok := a.body["rule"]; ok {
		t.Errorf("403 body: got a rule, want none")
	}
	if _, ok := a.header["X-User-Id"]; ok {
		t.Error("refused: got X-User-Id, want none")
	}
}

func TestForwardWithoutARoute(t *testing.T) {
	e := startForward(t, false)
	admin := e.login(t, "root", "admin")
	for _, token := range []string{admin, ""} {
		for _, uri := range []string{"/elsewhere", "/api", "/api/userss", "/"} {
			if a := e.nginx(t, token, "GET", uri); a.status != http.StatusForbidden || a.code() != "no_route" {
				t.Errorf("GET %s: got %d %v, want 403 no_route", uri, a.status, a.body)
			}
		}
	}
}

// TestForwardRefusesAmbiguousPaths plays an anonymous attacker who wants
// the admin area to pass as the public one. Each of these would be allowed
// if it matched the public route.
func TestForwardRefusesAmbiguousPaths(t *testing.T) {
	e := startForward(t, false)
	if a := e.nginx(t, "", "GET", "/api/public/x?next=/api/admin/../../"); a.status != http.StatusOK {
		t.Fatalf("public page with a query: got %d %v, want 200", a.status, a.body)
	}
	if a := e.nginx(t, "", "GET", "/api/admin/x?/api/public/x"); a.status != http.StatusUnauthorized {
		t.Errorf("admin page with a public-looking query: got %d %v, want 401", a.status, a.body)
	}
	for _, uri := range []string{
		"/api/public/../admin/x",
		"/api/public/./../admin/x",
		"/api/public/%2e%2e/admin/x",
		"/api/public/%2E%2E/admin/x",
		"/api/public/.%2e/admin/x",
		"/api/public/..%2Fadmin/x",
		"/api/public/..%2fadmin%2Fx",
		"/api/public%2F..%2Fadmin/x",
		"/api/public/%252e%252e/admin/x",
		"/api/public/..;/admin/x",
		"/api/public/..%5Cadmin/x",
		`/api/public/..\admin\x`,
		"/api//admin/x",
		"/api/public//../admin/x",
		"//api/public/x",
		"/api/public/%00/x",
		"/api/public/%zz",
		"api/public/x",
		"http://rolegate/api/public/x",
	} {
		a := e.nginx(t, "", "GET", uri)
		if a.status != http.StatusForbidden || a.code() != "invalid_path" {
			t.Errorf("GET %s: got %d %v, want 403 invalid_path", uri, a.status, a.body)
		}
	}
}

func TestForwardMatchesMethodsAndOwners(t *testing.T) {
	e := startForward(t, false)
	user := e.login(t, "uma", "user")
	own := fmt.Sprintf("/api/users/%d", e.userID(t, "uma"))
	other := fmt.Sprintf("/api/users/%d", e.userID(t, "uma")+1)
	cases := []struct {
		method, uri string
		status      int
	}{
		{"GET", own, http.StatusOK},
		{"HEAD", own, http.StatusOK}, // GET routes cover HEAD
		{"PATCH", own, http.StatusOK},
		{"patch", own, http.StatusOK},
		{"DELETE", own, http.StatusForbidden},
		{"PUT", own, http.StatusForbidden}, // no PUT route
		{"GET", other, http.StatusForbidden},
		{"PATCH", other, http.StatusForbidden},
		{"GET", "/api/users/me", http.StatusForbidden}, // not an id: no owner
		{"POST", "/api/admin/x", http.StatusForbidden}, // every method of the area
		{"G ET", own, http.StatusForbidden},
	}
	for _, c := range cases {
		if a := e.nginx(t, user, c.method, c.uri); a.status != c.status {
			t.Errorf("%s %s: got %d %v, want %d", c.method, c.uri, a.status, a.body, c.status)
		}
	}
}

func TestForwardTraefikHeaders(t *testing.T) {
	e := startForward(t, false)
	admin := e.login(t, "root", "admin")
	user := e.login(t, "uma", "user")
	traefik := func(token, method, uri string, extra ...string) forwardAnswer {
		t.Helper()
		return e.ask(t, http.MethodGet, "/v1/authz/forward", token, append([]string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri}, extra...)...)
	}
	if a := traefik(admin, "DELETE", "/api/users/9"); a.status != http.StatusOK || a.header.Get("X-User-Role") != "admin" {
		t.Errorf("admin deletes a user: got %d %v, want 200 as admin", a.status, a.body)
	}
	if a := traefik(user, "DELETE", "/api/users/9"); a.status != http.StatusForbidden {
		t.Errorf("user deletes a user: got %d, want 403", a.status)
	}
	if a := traefik("", "GET", "/api/public/%2e%2e/admin"); a.status != http.StatusForbidden || a.code() != "invalid_path" {
		t.Errorf("traversal: got %d %v, want 403 invalid_path", a.status, a.body)
	}
	if a := traefik("", "GET", "/api/public/x", "X-Original-Method", "GET", "X-Original-URI", "/api/public/x"); a.status != http.StatusOK {
		t.Errorf("both header pairs agreeing: got %d %v, want 200", a.status, a.body)
	}

	// A client behind one proxy can add the other proxy's headers; when
	// the two disagree, or one is half there or sent twice, nothing passes.
	ambiguous := [][]string{
		{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/admin/x", "X-Original-Method", "GET", "X-Original-URI", "/api/public/x"},
		{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/public/x", "X-Original-Method", "DELETE", "X-Original-URI", "/api/public/x"},
		{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/public/x", "X-Original-URI", "/api/public/x"},
		{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/public/x", "X-Forwarded-Uri", "/api/public/y"},
	}
	for _, h := range ambiguous {
		if a := e.ask(t, http.MethodGet, "/v1/authz/forward", "", h...); a.status != http.StatusForbidden || a.code() != "ambiguous_original_request" {
			t.Errorf("%v: got %d %v, want 403 ambiguous_original_request", h, a.status, a.body)
		}
	}
	if a := e.ask(t, http.MethodGet, "/v1/authz/forward", admin); a.status != http.StatusBadRequest || a.code() != "missing_original_request" {
		t.Errorf("no original request: got %d %v, want 400 missing_original_request", a.status, a.body)
	}
}

func TestForwardEnvoyPathPrefix(t *testing.T) {
	e := startForward(t, false)
	admin := e.login(t, "root", "admin")
	if a := e.ask(t, http.MethodDelete, "/v1/authz/envoy/api/users/9", admin); a.status != http.StatusOK || a.header.Get("X-User-Role") != "admin" {
		t.Errorf("admin DELETE through envoy: got %d %v, want 200 as admin", a.status, a.body)
	}
	if a := e.ask(t, http.MethodGet, "/v1/authz/envoy/api/public/x?y=1", ""); a.status != http.StatusOK {
		t.Errorf("anonymous public page through envoy: got %d %v, want 200", a.status, a.body)
	}
	if a := e.ask(t, http.MethodPost, "/v1/authz/envoy/api/users", ""); a.status != http.StatusForbidden || a.code() != "no_route" {
		t.Errorf("POST with no route through envoy: got %d %v, want 403 no_route", a.status, a.body)
	}
	for _, path := range []string{"/v1/authz/envoy/api/public/%2e%2e/admin/x", "/v1/authz/envoy/api/public/../admin/x", "/v1/authz/envoy//api/public/x"} {
		if a := e.ask(t, http.MethodGet, path, ""); a.status != http.StatusForbidden || a.code() != "invalid_path" {
			t.Errorf("GET %s: got %d %v, want 403 invalid_path", path, a.status, a.body)
		}
	}
	if a := e.ask(t, http.MethodGet, "/v1/authz/envoy/api/admin/x", "", "X-Original-Method", "GET", "X-Original-URI", "/api/public/x"); a.status != http.StatusForbidden || a.code() != "ambiguous_original_request" {
		t.Errorf("envoy path and a disagreeing header: got %d %v, want 403 ambiguous_original_request", a.status, a.body)
	}
}

func TestRouteTableReloadsOnEdit(t *testing.T) {
	e := startForward(t, true)
	admin := e.login(t, "root", "admin")
	before := e.nginx(t, admin, "GET", "/api/reports")
	if before.status != http.StatusForbidden || before.code() != "no_route" {
		t.Fatalf("before the edit: got %d %v, want 403 no_route", before.status, before.body)
	}
	replace(t, e.routesFile, forwardRoutes+"route, GET, /api/reports, admin_area, read, -\n")
	took := waitFor(t, 2*time.Second, "the new route", func() bool {
		return e.nginx(t, admin, "GET", "/api/reports").status == http.StatusOK
	})
	t.Logf("route edit took effect after %s", took)
	after := e.nginx(t, admin, "GET", "/api/reports")
	if v := after.header.Get("X-Policy-Version"); v == before.header.Get("X-Policy-Version") || v != e.srv.Policy.Current().Version() {
		t.Errorf("X-Policy-Version after the edit: got %s, want a new version", v)
	}
}

func TestBrokenRouteTableKeepsTheOldOne(t *testing.T) {
	e := startForward(t, false)
	admin := e.login(t, "root", "admin")
	good := e.srv.Policy.Current().Version()
	replace(t, e.routesFile, forwardRoutes+"route, GET, /api/x/../y, admin_area, read, -\n")
	var refused struct {
		Code    string
		Version string
		Errors  []struct {
			File   string
			Line   int
			Reason string
		}
	}
	resp := e.do(t, http.MethodPost, "/v1/policy/reload", admin, nil, &refused)
	line := strings.Count(forwardRoutes, "\n") + 1
	if resp.StatusCode != http.StatusUnprocessableEntity || refused.Version != good || len(refused.Errors) != 1 ||
		refused.Errors[0].File != "routes.csv" || refused.Errors[0].Line != line {
		t.Fatalf("reload: got %d %+v, want 422 naming routes.csv:%d", resp.StatusCode, refused, line)
	}
	if a := e.nginx(t, admin, "GET", "/api/users"); a.status != http.StatusOK || a.header.Get("X-Policy-Version") != good {
		t.Errorf("after the refused reload: got %d under %s, want 200 under the old version", a.status, a.header.Get("X-Policy-Version"))
	}
}

func TestBrokenRouteTableStopsStartup(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, false)
	if err := os.WriteFile(cfg.PolicyRoutes, []byte("# routes\n\nroute, GET, /a, users\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		srv.Close()
		t.Fatal("got a server, want an error")
	}
	if !strings.Contains(err.Error(), "routes.csv:3: route has 3 fields") {
		t.Errorf("got %v, want routes.csv:3 named", err)
	}
}

// TestMissingRouteTable: the server starts, says so, and the forward
// endpoint refuses every request.
func TestMissingRouteTable(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, false)
	cfg.PolicyRoutes = filepath.Join(dir, "nope.csv")
	var logs bytes.Buffer
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.Contains(logs.String(), "route table has no routes") || !strings.Contains(logs.String(), "nope.csv") {
		t.Errorf("startup log: got %s, want a warning naming nope.csv", logs.String())
	}
	if _, err := srv.Policy.Current().Route("GET", "/api/users"); err == nil {
		t.Error("GET /api/users: got a route, want none")
	}
}

// TestForwardDenialsAreAudited: a proxy's request that the policy refuses
// is a denied access like any other, recorded with the token's user.
func TestForwardDenialsAreAudited(t *testing.T) {
	e := startForward(t, false)
	staff := e.login(t, "fwd-staff", "staff")
	admin := e.login(t, "fwd-admin", "admin")
	if a := e.nginx(t, staff, "GET", "/api/admin/x"); a.status != http.StatusForbidden {
		t.Fatalf("staff through the admin route: got %d, want 403", a.status)
	}
	staffID := e.userID(t, "fwd-staff")
	waitFor(t, 5*time.Second, "the forward denial in the audit trail", func() bool {
		events, _ := e.auditTrail(t, admin, "action=decision.deny")
		for _, ev := range events {
			if ev.ActorID != nil && *ev.ActorID == staffID && ev.ActorRole == "staff" && ev.Target == "admin_area" && ev.Result == "deny" {
				return true
			}
		}
		return false
	})
}
