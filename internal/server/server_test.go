package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/internal/syncbuf"
	"github.com/rolegate/rolegate/models"
)

// env is a running server on a copy of the shipped policy in its own
// folder, so tests can edit the files.
type env struct {
	srv        *server.Server
	base       string
	policyFile string
	testsFile  string
	routesFile string
	metrics    string
	logs       *syncbuf.Buffer // the server's JSON log
}

// allowStaffInAdminArea changes the policy's own tests to expect the grant
// the test is about to add, as a security team would in the same change.
func (e *env) allowStaffInAdminArea(t *testing.T) {
	t.Helper()
	tests := strings.Replace(e.read(t, e.testsFile), "deny,  staff,     admin_area,     read", "allow, staff,     admin_area,     read", 1)
	if tests == e.read(t, e.testsFile) {
		t.Fatal("policy_test.csv has no staff admin_area line to flip")
	}
	replace(t, e.testsFile, tests)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testConfig is the configuration of a test server whose files are in
// dir: a copy of the shipped policy and route table, a database and keys.
func testConfig(t *testing.T, dir string, watch bool) config.Config {
	t.Helper()
	return testConfigOn(t, dir, watch, "sqlite:"+filepath.Join(dir, "rg.db"))
}

// testConfigOn is a configuration for a server on databaseURL, with a copy
// of the shipped policy files in dir that the test may edit.
func testConfigOn(t *testing.T, dir string, watch bool, databaseURL string) config.Config {
	t.Helper()
	for _, name := range []string{"model.conf", "policy.csv", "policy_test.csv", "routes.csv"} {
		copyFile(t, "../../policy/"+name, filepath.Join(dir, name))
	}
	vars := map[string]string{
		"ROLEGATE_DATABASE_URL":      databaseURL,
		"ROLEGATE_POLICY_MODEL":      filepath.Join(dir, "model.conf"),
		"ROLEGATE_POLICY_FILE":       filepath.Join(dir, "policy.csv"),
		"ROLEGATE_POLICY_TESTS":      filepath.Join(dir, "policy_test.csv"),
		"ROLEGATE_POLICY_ROUTES":     filepath.Join(dir, "routes.csv"),
		"ROLEGATE_JWT_KEY_FILE":      filepath.Join(dir, "keys.json"),
		"ROLEGATE_ARGON2_MEMORY_KIB": "64",
		"ROLEGATE_ARGON2_ITERATIONS": "1",
		"ROLEGATE_POLICY_WATCH":      fmt.Sprint(watch),
		"ROLEGATE_SHUTDOWN_DRAIN":    "0s",
		"ROLEGATE_AUTO_MIGRATE":      "true",
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, err := config.Load(func(k string) string { return vars[k] }, fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func start(t *testing.T, watch bool) *env {
	t.Helper()
	return startOn(t, watch, "")
}

// startOn is start on the database at databaseURL; "" means a new SQLite
// file.
func startOn(t *testing.T, watch bool, databaseURL string) *env {
	t.Helper()
	return startLogged(t, watch, databaseURL, func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) })
}

// startLogged is startOn with the server's log written by the handler
// that newHandler makes; env.logs holds what it writes.
func startLogged(t *testing.T, watch bool, databaseURL string, newHandler func(io.Writer) slog.Handler) *env {
	t.Helper()
	dir := t.TempDir()
	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(dir, "rg.db")
	}
	cfg := testConfigOn(t, dir, watch, databaseURL)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncbuf.Buffer{}
	srv, err := server.New(ctx, cfg, slog.New(newHandler(logs)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- srv.Serve(ctx, ln) }()
	go func() { done <- srv.ServeMetrics(ctx, mln) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
		srv.Close()
	})
	return &env{srv: srv, base: "http://" + ln.Addr().String(), policyFile: cfg.PolicyFile, testsFile: cfg.PolicyTests,
		routesFile: cfg.PolicyRoutes, metrics: "http://" + mln.Addr().String() + "/metrics", logs: logs}
}

// login creates a user with role and returns an access token.
func (e *env) login(t *testing.T, username, role string) string {
	t.Helper()
	ctx := context.Background()
	hash, err := e.srv.Auth.HashPassword(ctx, auth.Requester{}, "a long test password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Store.CreateUser(ctx, &models.User{Username: username, Role: role, IsActive: true, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	var out struct{ Access string }
	resp := e.do(t, http.MethodPost, "/login/", "", map[string]string{"username": username, "password": "a long test password"}, &out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: got %d, want 200", username, resp.StatusCode)
	}
	return out.Access
}

func (e *env) do(t *testing.T, method, path, token string, body, out any) *http.Response {
	t.Helper()
	return e.doWithID(t, method, path, token, "", body, out)
}

// doWithID is do with an X-Request-ID header, unless requestID is "".
func (e *env) doWithID(t *testing.T, method, path, token, requestID string, body, out any) *http.Response {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if requestID != "" {
		req.Header.Set("X-Request-ID", requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, data, err)
		}
	}
	return resp
}

// replace writes a new version of path the way editors do: a new file
// renamed over the old one.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".swp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (e *env) read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// waitFor polls until cond holds or the deadline passes, and returns how
// long it took.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not seen within %s", what, within)
	return 0
}

func TestEditedPolicyTakesEffectWithinTwoSeconds(t *testing.T) {
	e := start(t, true)
	staff := e.login(t, "staff1", "staff")
	before := e.do(t, http.MethodGet, "/admin-area/", staff, nil, nil)
	if before.StatusCode != http.StatusForbidden {
		t.Fatalf("staff in admin area before the edit: got %d, want 403", before.StatusCode)
	}
	oldVersion := before.Header.Get("X-Policy-Version")

	e.allowStaffInAdminArea(t)
	replace(t, e.policyFile, e.read(t, e.policyFile)+"p, staff, admin_area, read, any\n")
	took := waitFor(t, 2*time.Second, "the new grant", func() bool {
		return e.do(t, http.MethodGet, "/admin-area/", staff, nil, nil).StatusCode == http.StatusOK
	})
	t.Logf("edit took effect after %s", took)
	after := e.do(t, http.MethodGet, "/healthz", "", nil, nil)
	if v := after.Header.Get("X-Policy-Version"); v == oldVersion || v != e.srv.Policy.Current().Version() {
		t.Errorf("X-Policy-Version after the edit: got %s, want the new version %s", v, e.srv.Policy.Current().Version())
	}
}

func TestBrokenEditKeepsTheOldPolicy(t *testing.T) {
	e := start(t, true)
	admin := e.login(t, "admin1", "admin")
	good := e.srv.Policy.Current().Version()
	lines := strings.Count(e.read(t, e.policyFile), "\n")
	replace(t, e.policyFile, e.read(t, e.policyFile)+"p, staff, users\n")

	waitFor(t, 2*time.Second, "the failed reload", func() bool { return !e.srv.Policy.Last().OK })
	var pol struct {
		Version    string
		LastReload struct {
			OK      bool
			Trigger string
			Errors  []struct {
				File   string
				Line   int
				Reason string
			}
		} `json:"last_reload"`
	}
	resp := e.do(t, http.MethodGet, "/v1/policy", admin, nil, &pol)
	if resp.StatusCode != http.StatusOK || pol.Version != good {
		t.Fatalf("GET /v1/policy: got %d version %s, want 200 and the old version %s", resp.StatusCode, pol.Version, good)
	}
	errs := pol.LastReload.Errors
	if pol.LastReload.OK || pol.LastReload.Trigger != "file" || len(errs) != 1 || errs[0].File != "policy.csv" || errs[0].Line != lines+1 {
		t.Fatalf("last reload: got %+v, want a failed file reload at policy.csv:%d", pol.LastReload, lines+1)
	}
	// The old policy still decides.
	if got := e.do(t, http.MethodGet, "/admin-area/", admin, nil, nil).StatusCode; got != http.StatusOK {
		t.Errorf("admin area with the old policy: got %d, want 200", got)
	}

	// An explicit reload answers 422 with the same error.
	var refused struct {
		Code    string
		Version string
		Errors  []struct {
			File string
			Line int
		}
	}
	resp = e.do(t, http.MethodPost, "/v1/policy/reload", admin, nil, &refused)
	if resp.StatusCode != http.StatusUnprocessableEntity || refused.Code != "policy_invalid" || refused.Version != good ||
		len(refused.Errors) != 1 || refused.Errors[0].Line != lines+1 {
		t.Errorf("POST /v1/policy/reload: got %d %+v, want 422 naming policy.csv:%d", resp.StatusCode, refused, lines+1)
	}
	body := getText(t, e.metrics)
	for _, want := range []string{
		`rolegate_policy_reloads_total{result="failure",trigger="api"} 1`,
		`rolegate_policy_reloads_total{result="failure",trigger="file"} 1`,
		`rolegate_policy_info{version="` + good + `"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics: missing %s", want)
		}
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func TestReloadIsAPolicyDecision(t *testing.T) {
	e := start(t, false)
	staff := e.login(t, "staff2", "staff")
	for _, path := range []string{"/v1/policy/reload", "/v1/policy"} {
		method := http.MethodPost
		if path == "/v1/policy" {
			method = http.MethodGet
		}
		if got := e.do(t, method, path, staff, nil, nil).StatusCode; got != http.StatusForbidden {
			t.Errorf("staff %s %s: got %d, want 403", method, path, got)
		}
		if got := e.do(t, method, path, "", nil, nil).StatusCode; got != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: got %d, want 401", method, path, got)
		}
	}
	admin := e.login(t, "admin2", "admin")
	e.allowStaffInAdminArea(t)
	replace(t, e.policyFile, e.read(t, e.policyFile)+"p, staff, admin_area, read, any\n")
	var ok struct {
		Version string
		Changed bool
	}
	resp := e.do(t, http.MethodPost, "/v1/policy/reload", admin, nil, &ok)
	if resp.StatusCode != http.StatusOK || !ok.Changed || ok.Version != e.srv.Policy.Current().Version() {
		t.Errorf("reload: got %d %+v, want 200 with the new version", resp.StatusCode, ok)
	}
	var ready struct {
		PolicyVersion string `json:"policy_version"`
	}
	e.do(t, http.MethodGet, "/readyz", "", nil, &ready)
	if ready.PolicyVersion != ok.Version {
		t.Errorf("readyz: got version %s, want %s", ready.PolicyVersion, ok.Version)
	}
}

// TestReloadHammer reloads in a loop while requests run, and checks every
// response: it must be the decision of the policy whose version it
// carries, so no request ever sees half of a policy.
func TestReloadHammer(t *testing.T) {
	e := start(t, false)
	staff := e.login(t, "staff3", "staff")
	os.Remove(e.testsFile) // the two policies disagree about this cell
	without := e.read(t, e.policyFile)
	with := without + "p, staff, admin_area, read, any\n"
	replace(t, e.policyFile, with)
	e.srv.Policy.Reload(context.Background(), "test")
	grantVersion := e.srv.Policy.Current().Version()

	var stop atomic.Bool
	var checked atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				req, _ := http.NewRequest(http.MethodGet, e.base+"/admin-area/", nil)
				req.Header.Set("Authorization", "Bearer "+staff)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				allowed := resp.StatusCode == http.StatusOK
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusForbidden {
					t.Errorf("got status %d, want 200 or 403", resp.StatusCode)
					return
				}
				if allowed != (resp.Header.Get("X-Policy-Version") == grantVersion) {
					t.Errorf("got allowed=%v under policy %s, want the decision of that policy", allowed, resp.Header.Get("X-Policy-Version"))
					return
				}
				checked.Add(1)
			}
		})
	}
	// Reload until both enough reloads and enough checked responses have
	// happened, however slow the machine is; bounded all the same.
	reloads := 0
	for ; reloads < 60 || checked.Load() < 200; reloads++ {
		if reloads == 5000 {
			t.Fatalf("after %d reloads only %d responses were checked", reloads, checked.Load())
		}
		content := without
		if reloads%2 == 1 {
			content = with
		}
		replace(t, e.policyFile, content)
		if res := e.srv.Policy.Reload(context.Background(), "test"); !res.OK {
			t.Fatalf("reload %d: %+v", reloads, res)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d responses checked across %d reloads", checked.Load(), reloads)
}

// TestReloadRunsThePolicysOwnTests: a grant the policy's tests say must
// not exist is refused at reload, naming the failing test lines and the
// rule, and the old policy keeps serving.
func TestReloadRunsThePolicysOwnTests(t *testing.T) {
	e := start(t, false)
	admin := e.login(t, "admin4", "admin")
	good := e.srv.Policy.Current().Version()
	replace(t, e.policyFile, e.read(t, e.policyFile)+"p, staff, users, delete, any\n")
	var refused struct {
		Version string
		Errors  []struct {
			File   string
			Line   int
			Reason string
		}
	}
	resp := e.do(t, http.MethodPost, "/v1/policy/reload", admin, nil, &refused)
	if resp.StatusCode != http.StatusUnprocessableEntity || refused.Version != good || len(refused.Errors) == 0 {
		t.Fatalf("reload with a forbidden grant: got %d %+v, want 422 with the old version", resp.StatusCode, refused)
	}
	cases, advice := refused.Errors[:len(refused.Errors)-1], refused.Errors[len(refused.Errors)-1]
	for _, e := range cases {
		if e.File != "policy_test.csv" || e.Line == 0 || !strings.Contains(e.Reason, "p, staff, users, delete, any") {
			t.Errorf("error: got %+v, want a policy_test.csv line naming the rule", e)
		}
	}
	if advice.File != "policy_test.csv" || advice.Line != 0 || !strings.Contains(advice.Reason, "which expect deny") {
		t.Errorf("last error: got %+v, want the policy_test.csv lines to update", advice)
	}
	if e.srv.Policy.Current().Version() != good {
		t.Error("the failing policy went into force")
	}
}
