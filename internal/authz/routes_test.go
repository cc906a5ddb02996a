package authz_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// testRoutes covers every kind of pattern: literals, a parameter that
// names the owner, a wildcard, a method wildcard, and an earlier route that
// must win over a later, broader one.
const testRoutes = `# test routes
route, GET,    /api/public/*,    public,     read,   -
route, GET,    /api/users,       users,      list,   -
route, GET,    /api/users/:id,   users,      read,   :id
route, DELETE, /api/users/:id,   users,      delete, :id
route, *,      /api/admin/*,     admin_area, read,   -
route, GET,    /,                public,     read,   -
route, *,      /api/*,           api,        any,    -
`

func withRoutes(t *testing.T, table string) *authz.Policy {
	t.Helper()
	src := shipped(t)
	src.RoutesFile, src.Routes = "routes.csv", []byte(table)
	return compile(t, src)
}

func TestRouteMatching(t *testing.T) {
	p := withRoutes(t, testRoutes)
	cases := []struct {
		method, uri string
		line        int // the route that must match
		owner       int64
	}{
		{"GET", "/api/public/x", 2, 0},
		{"GET", "/api/public", 2, 0}, // /* also matches nothing further
		{"GET", "/api/public/a/b/c?x=../../admin", 2, 0},
		{"HEAD", "/api/public/x", 2, 0}, // GET covers HEAD
		{"get", "/api/public/x", 2, 0},  // methods compare in upper case
		{"POST", "/api/public/x", 8, 0}, // not GET: falls through to /api/*
		{"GET", "/api/users", 3, 0},
		{"GET", "/api/users/", 3, 0}, // one trailing slash is ignored
		{"GET", "/api/users/7", 4, 7},
		{"GET", "/api/users/007", 4, 0}, // not canonical: no owner
		{"GET", "/api/users/me", 4, 0},
		{"GET", "/API/Users/7", 4, 7}, // literals ignore case
		{"DELETE", "/api/users/7", 5, 7},
		{"PUT", "/api/users/7", 8, 0},
		{"PATCH", "/api/admin", 6, 0},
		{"GET", "/api/admin/a/b", 6, 0},
		{"GET", "/", 7, 0},
		{"GET", "/api/users/7/extra", 8, 0},
		{"GET", "/api/caf%C3%A9", 8, 0},
	}
	for _, c := range cases {
		got, err := p.Route(c.method, c.uri)
		if err != nil {
			t.Errorf("%s %s: got %v, want line %d", c.method, c.uri, err, c.line)
			continue
		}
		if got.Route.Line != c.line || got.Resource.OwnerID != c.owner {
			t.Errorf("%s %s: got line %d owner %d, want line %d owner %d", c.method, c.uri, got.Route.Line, got.Resource.OwnerID, c.line, c.owner)
		}
	}
}

func TestUnmatchedRequestsHaveNoRoute(t *testing.T) {
	p := withRoutes(t, testRoutes)
	for _, c := range [][2]string{{"GET", "/other"}, {"POST", "/"}, {"GET", "/apix"}} {
		_, err := p.Route(c[0], c[1])
		if reasonOf(err) != "no_route" {
			t.Errorf("%s %s: got %v, want no_route", c[0], c[1], err)
		}
	}
}

func reasonOf(err error) string {
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.EFORBIDDEN {
		return ""
	}
	return e.Reason
}

// TestAmbiguousPathsAreRefused is the attacker's view: each path tries to
// make the route table see a public path while the upstream serves an
// admin one (or the other way round).
func TestAmbiguousPathsAreRefused(t *testing.T) {
	p := withRoutes(t, testRoutes)
	for _, uri := range []string{
		"/api/public/../admin/x",
		"/api/public/./x",
		"/api/public/%2e%2e/admin/x",
		"/api/public/%2E%2e/admin/x",
		"/api/public/.%2e/admin/x",
		"/api/public/..%2Fadmin/x",
		"/api/public%2F..%2Fadmin/x",
		"/api/public/%252e%252e/admin/x",
		"/api/public/..;/admin/x",
		"/api/public/x;a=b",
		"/api/public/..%5Cadmin",
		`/api/public/..\admin`,
		"/api//admin/x",
		"//api/admin/x",
		"/api/public//",
		"/api/public/%zz",
		"/api/public/%00",
		"/api/public/%0a",
		"/api/public/%ff",
		"/api/public/x#frag",
		"api/public/x",
		"http://example.com/api/public/x",
		"",
		"/api/public/" + strings.Repeat("a", 5000),
	} {
		got, err := p.Route("GET", uri)
		if reasonOf(err) != "invalid_path" {
			t.Errorf("GET %q: got %+v, %v, want invalid_path", uri, got.Route, err)
		}
	}
}

func TestRouteTableErrorsNameTheirLine(t *testing.T) {
	table := strings.Join([]string{
		"# comment",                               // 1
		"route, GET, /ok, users, read, -",         // 2
		"route, GET, /ok, users, list, -",         // 3 same method and path as 2
		"route, get, /a, users, read, -",          // 4
		"route, GET, a, users, read, -",           // 5
		"route, GET, /a/../b, users, read, -",     // 6
		"route, GET, /a//b, users, read, -",       // 7
		"route, GET, /a/*/b, users, read, -",      // 8
		"route, GET, /a/:id/:id, users, read, -",  // 9
		"route, GET, /a/:id, users, read, :other", // 10
		"route, GET, /a, users, read",             // 11
		"p, admin, users, read, any",              // 12
		"route, GET, /a, , read, -",               // 13
		"route, GET, /a;x, users, read, -",        // 14
		"route, GET, /a/, users, read, -",         // 15
		`route, "GET, /a, users, read, -`,         // 16
		"route, GET, /a/:, users, read, -",        // 17
		"route, *, /star, users, read, -",         // 18
		"route, POST, /STAR, users, read, -",      // 19 shadowed by 18
		"route, GET, /a/b%2Fc, users, read, -",    // 20
	}, "\n")
	src := shipped(t)
	src.RoutesFile, src.Routes = "/etc/rolegate/routes.csv", []byte(table)
	_, err := authz.Compile(src)
	var errs authz.LoadErrors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want LoadErrors", err)
	}
	want := map[int]string{
		3:  "line 2 matches it first",
		4:  `method "get"`,
		5:  "must start with /",
		6:  ". or ..",
		7:  "empty segment",
		8:  "only be the whole last segment",
		9:  "appears twice",
		10: `owner ":other"`,
		11: "has 4 fields",
		12: `unknown line type "p"`,
		13: "must not be empty",
		14: `segment "a;x"`,
		15: "empty segment",
		16: "cannot parse line",
		17: `parameter ":"`,
		19: "line 18 matches it first",
		20: `segment "b%2Fc"`,
	}
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
		if e.File != "routes.csv" || !strings.Contains(e.Reason, want[e.Line]) || want[e.Line] == "" {
			t.Errorf("got %s, want routes.csv:%d with %q", e.Error(), e.Line, want[e.Line])
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got errors on lines %v, want %d errors:\n%v", lines, len(want), err)
	}
}

// TestPolicyAndRouteErrorsComeTogether checks that one load reports the
// problems of both files, so a fix is not followed by another refusal.
// A route table follows the policy file's line syntax (see
// TestPolicyFileLineSyntax).
func TestRouteTableLineSyntax(t *testing.T) {
	p := withRoutes(t, "# routes\r\nroute, \"GET\", \" /a/:id \", users, read, :id\r\n\r\n\t# x\r\nroute, *, /b, public, read, -\r\n")
	got := p.Routes()
	if len(got) != 2 || got[0].Line != 2 || got[0].Path != "/a/:id" || got[1].Line != 5 {
		t.Fatalf("got routes %+v, want /a/:id at line 2 and /b at line 5", got)
	}
	src := shipped(t)
	src.RoutesFile, src.Routes = "routes.csv", []byte("\ufeffroute, GET, /a, users, read, -\nroute, GET, /b, users, read, -, -,\nroute, GET, \"/c\" , users, read, -\n")
	_, err := authz.Compile(src)
	wantLoadErrors(t, err, "routes.csv", map[int]string{
		1: `unknown line type "\ufeffroute"`,
		2: "route has 7 fields",
		3: `cannot parse line: extraneous or missing " in quoted-field`,
	})
}

func TestPolicyAndRouteErrorsComeTogether(t *testing.T) {
	src := shipped(t)
	src.Policy = append(src.Policy, []byte("p, admin, users\n")...)
	src.RoutesFile, src.Routes = "routes.csv", []byte("route, GET, nope, users, read, -\n")
	_, err := authz.Compile(src)
	if err == nil || !strings.Contains(err.Error(), "policy.csv:") || !strings.Contains(err.Error(), "routes.csv:1:") {
		t.Errorf("got %v, want errors for policy.csv and routes.csv:1", err)
	}
}

func TestVersionCoversTheRouteTable(t *testing.T) {
	src := shipped(t)
	plain := compile(t, src).Version()
	src.RoutesFile = "routes.csv"
	empty := compile(t, src).Version()
	src.Routes = []byte("route, GET, /a, users, read, -\n")
	one := compile(t, src).Version()
	if plain == empty || empty == one || plain == one {
		t.Errorf("got versions %s (no table), %s (empty table), %s (one route), want three different", plain, empty, one)
	}
}

func TestFileLoaderReadsTheRouteTable(t *testing.T) {
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.csv")
	l := authz.FileLoader{ModelFile: "../../policy/model.conf", PolicyFile: "../../policy/policy.csv", RoutesFile: routes}
	if !slices.Contains(l.Paths(), routes) {
		t.Errorf("watched paths: got %v, want them to include %s", l.Paths(), routes)
	}
	if got := l.Origin().RoutesFile; got != routes {
		t.Errorf("origin routes file: got %q, want %q", got, routes)
	}

	// A missing file is an empty table: every forwarded request is refused.
	src, err := l.Load(context.Background())
	if err != nil {
		t.Fatalf("load without a route file: %v", err)
	}
	p := compile(t, src)
	if _, err := p.Route("GET", "/api/users"); reasonOf(err) != "no_route" || len(p.Routes()) != 0 {
		t.Errorf("missing route file: got %d routes and %v, want none and no_route", len(p.Routes()), err)
	}

	if err := os.WriteFile(routes, []byte("route, GET, /api/users, users, list, -\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err = l.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	target, err := compile(t, src).Route("GET", "/api/users")
	if err != nil || target.Resource.Type != "users" || target.Action != "list" {
		t.Errorf("GET /api/users: got %+v, %v, want users list", target, err)
	}
}

// TestRouteTenantColumn: a route may name the path segment that holds the
// tenant in a seventh column; routing returns its decoded value, and a
// route without the column, or with "-", is outside tenants.
func TestRouteTenantColumn(t *testing.T) {
	p := withRoutes(t, strings.Join([]string{
		"route, GET, /t/:tenant/customers/:id, customers, read, -, :tenant",
		"route, GET, /t/:tenant/users/:id, users, read, :id, :tenant",
		"route, GET, /o/:org/x, records, list, -, -",
		"route, GET, /plain, users, list, -",
	}, "\n"))
	cases := []struct {
		uri, tenant string
		owner       int64
	}{
		{"/t/guest/customers/9", "guest", 0},
		{"/T/caf%C3%A9/customers/9", "café", 0},
		{"/t/42/users/7", "42", 7},
		{"/o/acme/x", "", 0},
		{"/plain", "", 0},
	}
	for _, c := range cases {
		got, err := p.Route("GET", c.uri)
		if err != nil || got.Tenant != c.tenant || got.Resource.OwnerID != c.owner {
			t.Errorf("GET %s: got %+v, %v, want tenant %q owner %d", c.uri, got, err, c.tenant, c.owner)
		}
	}
	tenants := []string{}
	for _, r := range p.Routes() {
		tenants = append(tenants, r.Tenant)
	}
	if got, want := strings.Join(tenants, ","), ":tenant,:tenant,-,-"; got != want {
		t.Errorf("the routes' tenant columns: got %s, want %s", got, want)
	}
	src := shipped(t)
	src.RoutesFile, src.Routes = "routes.csv", []byte(strings.Join([]string{
		"route, GET, /t/:tenant/x, records, read, -, :tenant",    // 1 fine
		"route, GET, /t/:tenant/y, records, read, -, :org",       // 2 no such parameter
		"route, GET, /t/:id/z, records, read, :id, :id",          // 3 owner and tenant share a segment
		"route, GET, /t/:tenant/w, records, read, -, tenant",     // 4 not a parameter
		"route, GET, /t/:tenant/v, records, read, -, :tenant, x", // 5 too many fields
		"route, GET, /t/:tenant/u, records, read, -, ",           // 6 empty
	}, "\n"))
	_, err := authz.Compile(src)
	wantLoadErrors(t, err, "routes.csv", map[int]string{
		2: `tenant ":org": want - or a :parameter of the path /t/:tenant/y`,
		3: "owner and tenant are both :id",
		4: `tenant "tenant": want - or a :parameter`,
		5: "route has 7 fields, want 5 or 6 (method, path, resource, action, owner[, tenant])",
		6: `tenant "": want - or a :parameter`,
	})
}
