package console_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/console"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/internal/throttle"
	"github.com/rolegate/rolegate/models"
)

// clock is the console's clock in the tests, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a rolegate server on one database, with the console served twice:
// inside the whole API handler (api), as in production, and on its own
// with the test's clock (cons).
type env struct {
	name  string
	srv   *server.Server
	api   *httptest.Server
	cons  *httptest.Server
	clock *clock
	// console is the console e.cons serves, for the benchmarks.
	console *console.Console
}

var seq atomic.Int64

func unique(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

// forEach runs test on a fresh server per database.
func forEach(t *testing.T, test func(t *testing.T, e *env)) {
	t.Helper()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) { test(t, newEnv(t, target, nil)) })
	}
}

// newEnv starts a server on target with the settings in extra added.
func newEnv(t testing.TB, target dbtest.Target, extra map[string]string) *env {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"ROLEGATE_DATABASE_URL":         target.URL,
		"ROLEGATE_POLICY_MODEL":         "../../policy/model.conf",
		"ROLEGATE_POLICY_FILE":          "../../policy/policy.csv",
		"ROLEGATE_POLICY_TESTS":         "../../policy/policy_test.csv",
		"ROLEGATE_POLICY_ROUTES":        "../../policy/routes.csv",
		"ROLEGATE_POLICY_WATCH":         "false",
		"ROLEGATE_JWT_KEY_FILE":         filepath.Join(dir, "jwt-keys.json"),
		"ROLEGATE_ARGON2_MEMORY_KIB":    "64",
		"ROLEGATE_ARGON2_ITERATIONS":    "1",
		"ROLEGATE_AUTO_MIGRATE":         "true",
		"ROLEGATE_LOGIN_IP_LIMIT":       "1000000",
		"ROLEGATE_LOGIN_SESSION_LIMIT":  "1000000",
		"ROLEGATE_CONSOLE_IDLE_TIMEOUT": "30m",
		"ROLEGATE_CONSOLE_MAX_AGE":      "12h",
	}
	for k, v := range extra {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] }, flag.NewFlagSet("rolegate", flag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{name: target.Name, srv: srv, clock: &clock{t: time.Now().UTC()}}
	var versions console.PolicyVersions
	var replicas console.Replicas
	if cfg.PolicySource == config.PolicySourceDatabase {
		versions, replicas = srv.Store, srv.Store
	}
	c := console.New(console.Deps{
		Users: srv.Store, Sessions: srv.Store, Auth: srv.Auth, Policies: srv.Policy, Audit: srv.Audit, AuditEvents: srv.Store,
		Throttle: throttle.New(srv.Store, server.ThrottleLimits(cfg)), IdleTimeout: cfg.ConsoleIdleTimeout, MaxAge: cfg.ConsoleMaxAge,
		DefaultRole: cfg.DefaultRole, Groups: srv.Store, UserTenants: srv.Store,
		Now: e.clock.Now, Versions: versions, Replicas: replicas,
		Tenants: srv.Store, PublicURL: cfg.PublicURL, InvitationTTL: cfg.InvitationTTL,
	})
	e.cons, e.console = httptest.NewServer(c), c
	e.api = httptest.NewServer(srv.Handler)
	t.Cleanup(func() { e.cons.Close(); e.api.Close(); srv.Close() })
	return e
}

// person is a user and their browser: a cookie jar that follows no
// redirects.
type person struct {
	*models.User
	Password string
	client   *http.Client
	base     string
	csrf     string
}

const password = "Tq7-plum-harbor-lantern"

func (e *env) user(t testing.TB, role string, mods ...func(*models.User)) *models.User {
	t.Helper()
	hash, err := e.srv.Auth.HashPassword(t.Context(), auth.Requester{Account: "x"}, password)
	if err != nil {
		t.Fatal(err)
	}
	name := unique(role)
	u := &models.User{Username: name, Email: name + "@example.com", Role: role, IsActive: true, PasswordHash: hash}
	for _, m := range mods {
		m(u)
	}
	u, err = e.srv.Store.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) browser(base string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn creates a user with role and signs them in to the console at
// base (e.cons unless given).
func (e *env) signIn(t testing.TB, role string) *person {
	t.Helper()
	u := e.user(t, role)
	p := &person{User: u, Password: password, client: e.browser(e.cons.URL), base: e.cons.URL}
	r := p.post(t, "/console/login", url.Values{"username": {u.Username}, "password": {password}})
	wantStatus(t, r, http.StatusSeeOther)
	p.refreshCSRF(t)
	return p
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([0-9a-f]+)"`)

// refreshCSRF reads the session's CSRF token from a page, the error page
// of a viewer without access included.
func (p *person) refreshCSRF(t testing.TB) {
	t.Helper()
	r := p.get(t, "/console/")
	if m := csrfRE.FindStringSubmatch(r.body); m != nil {
		p.csrf = m[1]
	}
}

type response struct {
	*http.Response
	body string
}

func (p *person) do(t testing.TB, req *http.Request) response {
	t.Helper()
	res, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res, string(b)}
}

func (p *person) get(t testing.TB, path string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.base+path, nil)
	return p.do(t, req)
}

func (p *person) post(t testing.TB, path string, form url.Values) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.do(t, req)
}

// postCSRF posts form with the session's CSRF token.
func (p *person) postCSRF(t *testing.T, path string, form url.Values) response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(console.CSRFField, p.csrf)
	return p.post(t, path, form)
}

func wantStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d; body:\n%.600s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.body)
	}
}

func wantContains(t *testing.T, r response, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s: body lacks %q", r.Request.URL.Path, s)
		}
	}
}

func wantLacks(t *testing.T, r response, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if strings.Contains(r.body, s) {
			t.Errorf("%s: body has %q, want it absent", r.Request.URL.Path, s)
		}
	}
}

func (e *env) stored(t *testing.T, id int64) *models.User {
	t.Helper()
	u, err := e.srv.Store.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("read user %d: %v", id, err)
	}
	return u
}
