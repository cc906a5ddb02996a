package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/httpapi"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/syncbuf"
	"github.com/rolegate/rolegate/models"
)

// failClosed sends req and checks that the answer is a refusal with a
// JSON body: one of want, never a success, whatever broke.
func failClosed(t *testing.T, e *env, req *http.Request, want ...int) *response {
	t.Helper()
	r, err := e.roundTrip(req)
	if err != nil {
		t.Fatalf("got a dropped connection, want a refusal: %v", err)
	}
	var body struct{ Detail string }
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Detail == "" {
		t.Errorf("%s: got body %q, want a JSON error with a detail", r.What, r.Body)
	}
	for _, w := range want {
		if r.Status == w {
			return r
		}
	}
	t.Errorf("%s: got status %d (%s), want one of %v", r.What, r.Status, r.Body, want)
	return r
}

func request(t *testing.T, e *env, method, path, token string, body any) *http.Request {
	t.Helper()
	req, err := e.newRequest(method, path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestDatabaseDownFailsClosed closes the connection pool under a running
// server, a real fault on every database: every request that needs the
// database is a 503 (or a 401 where a token cannot be checked), never a
// success, and nothing is changed.
func TestDatabaseDownFailsClosed(t *testing.T) {
	forEach(t, func(t *testing.T, shared *env) {
		e := policyEnv(t, shared, "../../policy")
		e.login(t, e.admin)
		victim := e.newUser(t, roleUser)
		before := e.stored(t, victim.ID)
		// Warm the user cache: a user it holds must not pass either.
		wantStatus(t, e.do(t, http.MethodGet, "/v1/me", victim.Access, nil), http.StatusOK)
		if err := e.srv.Store.Close(); err != nil {
			t.Fatalf("close the database: %v", err)
		}
		admin, user := e.admin.Access, victim.Access
		self := fmt.Sprintf("/v1/users/%d", victim.ID)
		for _, req := range []*http.Request{
			request(t, e, http.MethodGet, "/v1/me", user, nil),
			request(t, e, http.MethodPatch, "/v1/me", user, obj{"first_name": "Changed"}),
			request(t, e, http.MethodGet, "/v1/users", admin, nil),
			request(t, e, http.MethodGet, self, admin, nil),
			request(t, e, http.MethodPatch, self, admin, obj{"is_active": false}),
			request(t, e, http.MethodDelete, self, admin, nil),
			request(t, e, http.MethodPost, "/v1/authz/check", user, obj{"resource": "users", "action": "read", "owner_id": victim.ID}),
			request(t, e, http.MethodPost, "/v1/auth/login", "", obj{"username": victim.Username, "password": victim.Password}),
			request(t, e, http.MethodPost, "/v1/auth/refresh", "", obj{"refresh": victim.Refresh}),
		} {
			failClosed(t, e, req, http.StatusServiceUnavailable)
		}
		fwd := request(t, e, http.MethodGet, "/v1/authz/forward", admin, nil)
		fwd.Header.Set("X-Original-Method", http.MethodDelete)
		fwd.Header.Set("X-Original-URI", fmt.Sprintf("/api/users/%d", victim.ID))
		if r := failClosed(t, e, fwd, http.StatusServiceUnavailable); r.Header.Get("X-User-Id") != "" {
			t.Errorf("forward with the database down: got X-User-Id %q, want none", r.Header.Get("X-User-Id"))
		}
		failClosed(t, e, request(t, e, http.MethodGet, "/readyz", "", nil), http.StatusServiceUnavailable)

		reopened, err := store.Open(t.Context(), e.cfg.DatabaseURL, store.Options{})
		if err != nil {
			t.Fatalf("reopen the database: %v", err)
		}
		defer reopened.Close()
		after, err := reopened.UserByID(t.Context(), victim.ID)
		if err != nil {
			t.Fatalf("read user %d after the outage: %v", victim.ID, err)
		}
		if !sameUser(before, after) {
			t.Errorf("user %d after refused requests: got %+v, want unchanged %+v", victim.ID, after, before)
		}
	})
}

// panickingStore is the real store, except that listing users panics: a
// bug in a handler's dependency, which no real fault produces on demand.
type panickingStore struct{ httpapi.UserStore }

func (panickingStore) ListUsers(context.Context, models.UserFilter) ([]*models.User, error) {
	panic("list users exploded")
}

// TestPanicIsA500WithALogLine checks that a panic in a handler answers
// 500 with a JSON body that tells nothing of the panic, logs it with its
// stack, and leaves the server serving.
func TestPanicIsA500WithALogLine(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		var logs syncbuf.Buffer
		h := httpapi.NewHandler(httpapi.Deps{
			Users: panickingStore{e.srv.Store}, Auth: e.srv.Auth, Policies: e.srv.Policy,
			DefaultRole: e.cfg.DefaultRole, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		ts := httptest.NewServer(h)
		defer ts.Close()
		broken := &env{name: e.name, cfg: e.cfg, srv: e.srv, ts: ts}
		admin := e.newUser(t, roleAdmin)

		r := failClosed(t, broken, request(t, broken, http.MethodGet, "/v1/users", admin.Access, nil), http.StatusInternalServerError)
		wantBody(t, r, obj{"detail": "internal error", "code": "internal_error"})
		if got := r.Header.Get("Content-Type"); got != jsonType {
			t.Errorf("got Content-Type %q, want %q", got, jsonType)
		}
		if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "list users exploded") || !strings.Contains(got, "goroutine") {
			t.Errorf("got log %q, want an error line with the panic and its stack", got)
		}
		r = broken.do(t, http.MethodGet, "/v1/me", admin.Access, nil)
		wantStatus(t, r, http.StatusOK)
	})
}

// TestEnforcerErrorFailsClosed serves a policy whose matcher fails for
// requests that reach a grant of scope "own" (see
// testdata/failing-matcher). Those requests are refused with 503, through
// every path that asks the policy; requests the matcher can decide are
// answered as usual.
func TestEnforcerErrorFailsClosed(t *testing.T) {
	forEach(t, func(t *testing.T, shared *env) {
		e := policyEnv(t, shared, "testdata/failing-matcher")
		e.login(t, e.admin)
		u := e.newUser(t, roleUser)
		self := fmt.Sprintf("/v1/users/%d", u.ID)
		for _, req := range []*http.Request{
			request(t, e, http.MethodGet, "/v1/me", u.Access, nil),
			request(t, e, http.MethodGet, self, u.Access, nil),
			request(t, e, http.MethodPatch, self, u.Access, obj{"first_name": "Changed"}),
			request(t, e, http.MethodDelete, self, u.Access, nil),
			request(t, e, http.MethodPost, "/v1/authz/check", u.Access, obj{"resource": "users", "action": "read", "owner_id": u.ID}),
			request(t, e, http.MethodPost, "/v1/authz/check/batch", u.Access, obj{"checks": []obj{{"resource": "users", "action": "list"}, {"resource": "users", "action": "read", "owner_id": u.ID}}}),
		} {
			if r := failClosed(t, e, req, http.StatusServiceUnavailable); bytes.Contains(r.Body, []byte("keyMatch")) {
				t.Errorf("%s: got body %s, want the enforcer's error kept out of it", r.What, r.Body)
			}
		}
		fwd := request(t, e, http.MethodGet, "/v1/authz/forward", u.Access, nil)
		fwd.Header.Set("X-Original-Method", http.MethodGet)
		fwd.Header.Set("X-Original-URI", "/api/users/"+fmt.Sprint(u.ID))
		if r := failClosed(t, e, fwd, http.StatusServiceUnavailable); r.Header.Get("X-User-Id") != "" {
			t.Errorf("forward with a failing matcher: got X-User-Id %q, want none", r.Header.Get("X-User-Id"))
		}
		if got := e.stored(t, u.ID); got.FirstName != "" {
			t.Errorf("user after a refused update: got first name %q, want it unchanged", got.FirstName)
		}
		wantStatus(t, e.do(t, http.MethodGet, self, e.admin.Access, nil), http.StatusOK)
		r := e.do(t, http.MethodPost, "/v1/authz/check", u.Access, obj{"resource": "users", "action": "list"})
		wantBody(t, r, obj{"allowed": false, "rule": []any{}, "policy_version": e.srv.Policy.Authorizer().Current().Version()})
	})
}

// policyEnv starts a server of its own, on a new database of shared's
// kind, serving the model, policy, policy tests and route table in dir.
func policyEnv(t *testing.T, shared *env, dir string) *env {
	t.Helper()
	keys := t.TempDir()
	for _, target := range dbtest.Targets(t) {
		if target.Name != shared.name {
			continue
		}
		vars := map[string]string{
			"ROLEGATE_DATABASE_URL":      target.URL,
			"ROLEGATE_POLICY_MODEL":      filepath.Join(dir, "model.conf"),
			"ROLEGATE_POLICY_FILE":       filepath.Join(dir, "policy.csv"),
			"ROLEGATE_POLICY_TESTS":      filepath.Join(dir, "policy_test.csv"),
			"ROLEGATE_POLICY_ROUTES":     filepath.Join(dir, "routes.csv"),
			"ROLEGATE_JWT_KEY_FILE":      filepath.Join(keys, "jwt-keys.json"),
			"ROLEGATE_ARGON2_MEMORY_KIB": "64",
			"ROLEGATE_ARGON2_ITERATIONS": "1",
			"ROLEGATE_AUTO_MIGRATE":      "true",
		}
		cfg, err := config.Load(func(k string) string { return vars[k] }, flag.NewFlagSet("rolegate", flag.ContinueOnError), nil)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("start a server on the policy in %s: %v", dir, err)
		}
		e := &env{name: target.Name, cfg: cfg, srv: srv, ts: httptest.NewServer(srv.Handler)}
		t.Cleanup(e.close)
		if e.admin, err = e.insertUser(t.Context(), roleAdmin, true); err != nil {
			t.Fatal(err)
		}
		return e
	}
	t.Fatalf("got no %s database from dbtest.Targets, want one", shared.name)
	return nil
}
