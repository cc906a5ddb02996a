// Package httpapi_test drives rolegate end to end over HTTP: the real
// handler from server.New, on every database under test, asserting what a
// client sees (status, headers, body) and what the database holds after.
package httpapi_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/models"
)

// Roles of the shipped policy, and the caller without a token.
const (
	roleAdmin     = "admin"
	roleStaff     = "staff"
	roleUser      = "user"
	roleAnonymous = "anonymous"
)

const (
	modelFile     = "../../policy/model.conf"
	shippedPolicy = "../../policy/policy.csv"
	jsonType      = "application/json; charset=utf-8"
	// pwMarker is in every password the tests make, so that any response
	// echoing one is caught.
	pwMarker = "Pw9vQx"
)

// env is one rolegate server on one database, reached over HTTP.
type env struct {
	name  string
	cfg   config.Config
	srv   *server.Server
	ts    *httptest.Server
	admin *user // the first admin, made as "rolegate users create" does
}

// envs holds the package's shared servers, one per database.
var envs []*env

// spec validates every response of every server the tests start against
// the OpenAPI document.
var spec *specValidator

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	var err error
	if spec, err = newSpecValidator(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := runSuite(m)
	validated, covered, failures := spec.report()
	fmt.Printf("openapi: validated %d responses (%d distinct operation and status pairs) against the document, %d mismatches\n",
		validated, covered, len(failures))
	for _, f := range failures {
		fmt.Fprintln(os.Stderr, "openapi mismatch:", f)
	}
	if len(failures) > 0 && code == 0 {
		code = 1
	}
	return code
}

func runSuite(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rolegate-httpapi-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	targets, drop, err := dbtest.Fresh(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer drop()
	for _, target := range targets {
		e, err := startEnv(target, filepath.Join(dir, target.Name), shippedPolicy)
		if err != nil {
			fmt.Fprintf(os.Stderr, "start %s server: %v\n", target.Name, err)
			return 1
		}
		defer e.close()
		envs = append(envs, e)
	}
	return m.Run()
}

// startEnv builds a server as "rolegate serve" would, on target's database
// with the given policy file, keys under dir, and argon2id lowered for
// speed; then creates its first admin directly in the store.
func startEnv(target dbtest.Target, dir, policyFile string) (*env, error) {
	return startEnvWith(target, dir, policyFile, nil)
}

// startEnvWith is startEnv with the settings in extra added or replaced.
// Every test client is 127.0.0.1, so the per-address limits are raised
// unless extra sets them, and so is the limit of logins per account, as
// the tests log their users in often; the throttle tests set their own.
func startEnvWith(target dbtest.Target, dir, policyFile string, extra map[string]string) (*env, error) {
	vars := map[string]string{
		"ROLEGATE_LOGIN_IP_LIMIT":    "1000000",
		"ROLEGATE_SIGNUP_IP_LIMIT":   "1000000",
		"ROLEGATE_DATABASE_URL":      target.URL,
		"ROLEGATE_POLICY_MODEL":      modelFile,
		"ROLEGATE_POLICY_FILE":       policyFile,
		"ROLEGATE_JWT_KEY_FILE":      filepath.Join(dir, "jwt-keys.json"),
		"ROLEGATE_ARGON2_MEMORY_KIB": "64",
		"ROLEGATE_ARGON2_ITERATIONS": "1",
		"ROLEGATE_AUTO_MIGRATE":      "true",

		"ROLEGATE_LOGIN_SESSION_LIMIT": "1000000",
	}
	for k, v := range extra {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] }, flag.NewFlagSet("rolegate", flag.ContinueOnError), nil)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}),
		slog.NewJSONHandler(&serverLog, &slog.HandlerOptions{Level: slog.LevelDebug}),
	))
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		return nil, err
	}
	e := &env{name: target.Name, cfg: cfg, srv: srv, ts: httptest.NewServer(srv.Handler)}
	client := e.ts.Client()
	client.Transport = spec.transport(client.Transport)
	if e.admin, err = e.insertUser(context.Background(), roleAdmin, true); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	e.ts.Close()
	e.srv.Close()
}

// forEach runs test against every shared server, the databases in
// parallel with each other.
func forEach(t *testing.T, test func(t *testing.T, e *env)) {
	t.Helper()
	for _, e := range envs {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			test(t, e)
		})
	}
}

// freshEnv starts a server of its own, on a new database of e's kind, for
// a test that needs a database no other test writes to.
func freshEnv(t *testing.T, e *env, policyFile string) *env {
	t.Helper()
	return freshEnvWith(t, e, policyFile, nil)
}

// freshEnvWith is freshEnv with the settings in extra (see startEnvWith).
func freshEnvWith(t *testing.T, e *env, policyFile string, extra map[string]string) *env {
	t.Helper()
	dir := t.TempDir()
	targets, drop, err := dbtest.Fresh(dir)
	if err != nil {
		t.Fatalf("fresh database: %v", err)
	}
	t.Cleanup(drop)
	for _, target := range targets {
		if target.Name != e.name {
			continue
		}
		fresh, err := startEnvWith(target, dir, policyFile, extra)
		if err != nil {
			t.Fatalf("start server: %v", err)
		}
		t.Cleanup(fresh.close)
		return fresh
	}
	t.Fatalf("got no %s database from dbtest.Fresh, want one", e.name)
	return nil
}

// user is an account the tests made, with its password and, once logged
// in, its tokens.
type user struct {
	ID       int64
	Username string
	Email    string
	Password string
	Role     string
	Access   string
	Refresh  string
}

var seq atomic.Int64

// unique returns prefix followed by a number no other call returns.
func unique(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

// newPassword returns a password the default password policy accepts.
func newPassword() string { return unique(pwMarker + "-plum-harbor-") }

// insertUser creates a user directly in the store, the way "rolegate users
// create" does.
func (e *env) insertUser(ctx context.Context, role string, active bool) (*user, error) {
	name := unique(role)
	u := &user{Username: name, Email: name + "@example.com", Password: newPassword(), Role: role}
	hash, err := e.srv.Auth.HashPassword(ctx, auth.Requester{Account: u.Username}, u.Password)
	if err != nil {
		return nil, err
	}
	created, err := e.srv.Store.CreateUser(ctx, &models.User{
		Username: u.Username, Email: u.Email, Role: role, IsActive: active, PasswordHash: hash,
	})
	if err != nil {
		return nil, err
	}
	u.ID = created.ID
	return u, nil
}

// storedUser creates an active user with role, not logged in.
func (e *env) storedUser(t *testing.T, role string) *user {
	t.Helper()
	u, err := e.insertUser(t.Context(), role, true)
	if err != nil {
		t.Fatalf("create %s: %v", role, err)
	}
	return u
}

// newUser creates an active user with role and logs them in. For the
// anonymous role it returns a caller with no token.
func (e *env) newUser(t *testing.T, role string) *user {
	t.Helper()
	if role == roleAnonymous {
		return &user{Role: roleAnonymous}
	}
	u := e.storedUser(t, role)
	e.login(t, u)
	return u
}

// login logs u in through the API and keeps the tokens.
func (e *env) login(t *testing.T, u *user) {
	t.Helper()
	r := e.do(t, http.MethodPost, "/v1/auth/login", "", obj{"username": u.Username, "password": u.Password})
	wantStatus(t, r, http.StatusOK)
	var pair struct{ Access, Refresh string }
	r.decode(t, &pair)
	if pair.Access == "" || pair.Refresh == "" {
		t.Fatalf("login: got %s, want an access and a refresh token", r.Body)
	}
	u.Access, u.Refresh = pair.Access, pair.Refresh
}

// stored reads user id back from the database.
func (e *env) stored(t *testing.T, id int64) *models.User {
	t.Helper()
	u, err := e.srv.Store.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("read user %d from the store: %v", id, err)
	}
	return u
}

// wantGone checks that user id is not in the database.
func (e *env) wantGone(t *testing.T, id int64) {
	t.Helper()
	u, err := e.srv.Store.UserByID(t.Context(), id)
	if got := models.ErrorCode(err); got != models.ENOTFOUND {
		t.Errorf("user %d in the store: got %+v (error %v), want not found", id, u, err)
	}
}

// wantNoUsername checks that no user named name is in the database.
func (e *env) wantNoUsername(t *testing.T, name string) {
	t.Helper()
	u, err := e.srv.Store.UserByUsername(t.Context(), name)
	if got := models.ErrorCode(err); got != models.ENOTFOUND {
		t.Errorf("user %q in the store: got %+v (error %v), want not found", name, u, err)
	}
}

// wantUnchanged checks that user before.ID is stored exactly as before.
func (e *env) wantUnchanged(t *testing.T, before *models.User) {
	t.Helper()
	after := e.stored(t, before.ID)
	if !sameUser(before, after) {
		t.Errorf("user %d after a refused request: got %+v, want unchanged %+v", before.ID, after, before)
	}
}

func sameUser(a, b *models.User) bool {
	sameLogin := (a.LastLogin == nil) == (b.LastLogin == nil) && (a.LastLogin == nil || a.LastLogin.Equal(*b.LastLogin))
	return a.ID == b.ID && a.Username == b.Username && a.Email == b.Email && a.FirstName == b.FirstName &&
		a.LastName == b.LastName && a.Role == b.Role && a.IsActive == b.IsActive && a.PasswordHash == b.PasswordHash &&
		a.TokenEpoch == b.TokenEpoch && a.AccountKey == b.AccountKey && a.DateJoined.Equal(b.DateJoined) && sameLogin
}
