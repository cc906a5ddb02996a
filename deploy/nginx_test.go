//go:build linux

// Package deploy_test runs the shipped nginx.conf with a real nginx in
// front of two rolegate replicas and a stand-in app, as docker-compose.yml
// does, with loopback addresses and ports in place of the compose
// network's.
package deploy_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/syncbuf"
	"github.com/rolegate/rolegate/models"
)

// RequireNginx names the variable that makes a missing nginx a failure
// rather than a skip; .ci/run sets it after installing nginx-light.
const RequireNginx = "ROLEGATE_TEST_REQUIRE_NGINX"

// loopbackNetwork stands for the compose network in the test: it holds
// nginx's address (127.0.0.1) as the compose network holds nginx's, and
// also the clients' (127.0.0.2, 127.0.0.3), as it holds the gateway that
// Docker's port proxy connects from. That is the harder case: a client
// inside the trusted range must still not be able to name its address.
const loopbackNetwork = "127.0.0.0/8"

// The clients, each on its own loopback address.
const (
	guesser = "127.0.0.2" // fails logins
	alice   = "127.0.0.3" // a user who knows her password
)

const password = "a long test password"

// TestNginxDeploy runs deploy/nginx.conf in front of two replicas sharing
// one database, and checks what a client sees through it, what the app
// behind it is told, and what rolegate records.
func TestNginxDeploy(t *testing.T) {
	bin := nginxBinary(t)
	trusted := composeTrustedProxies(t)
	t.Logf("docker-compose.yml trusts %s; here the loopback network %s", trusted, loopbackNetwork)

	targets := dbtest.Targets(t)
	db := targets[len(targets)-1] // PostgreSQL when it is set, else SQLite
	keys := filepath.Join(t.TempDir(), "jwt-keys.json")
	replicas := []*replica{startReplica(t, db.URL, keys), startReplica(t, db.URL, keys)}
	app := startApp(t)
	base, access := startNginx(t, bin, map[string]string{
		"rolegate-1:8080": replicas[0].addr,
		"rolegate-2:8080": replicas[1].addr,
		"app:80":          app.addr,
	})
	st := replicas[0].srv.Store
	user := createUser(t, replicas[0].srv, "alice", "user")
	token := login(t, clientFrom(alice), base, "alice", password).access

	t.Run("auth_request", func(t *testing.T) {
		before := app.count()
		r := send(t, clientFrom(alice), http.MethodGet, base+"/api/dashboard/home", token, "", "X-User-Role", "admin", "X-User-Id", "999")
		if r.status != http.StatusOK {
			t.Fatalf("allowed: got %d %s, want 200 from the app", r.status, r.body)
		}
		var seen appRequest
		if err := json.Unmarshal(r.body, &seen); err != nil {
			t.Fatalf("allowed: got body %s from the app: %v", r.body, err)
		}
		want := appRequest{Method: "GET", Path: "/api/dashboard/home", UserID: fmt.Sprint(user.ID), UserRole: "user", RequestID: r.requestID(t)}
		if seen != want {
			t.Errorf("the app was told %+v, want %+v (the caller as rolegate saw her, no token)", seen, want)
		}
		for _, c := range []struct {
			method, path, token string
			status              int
		}{
			{http.MethodGet, "/api/admin/settings", token, http.StatusForbidden},
			{http.MethodPost, "/api/users", token, http.StatusForbidden},
			{http.MethodGet, "/api/dashboard/home", "", http.StatusUnauthorized},
		} {
			r := send(t, clientFrom(alice), c.method, base+c.path, c.token, "")
			if r.status != c.status {
				t.Errorf("%s %s: got %d %s, want %d", c.method, c.path, r.status, r.body, c.status)
			}
			if c.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: got WWW-Authenticate %q with 401, want rolegate's Bearer challenge", c.method, c.path, r.header.Get("WWW-Authenticate"))
			}
		}
		if got := app.count() - before; got != 1 {
			t.Errorf("the app got %d requests, want 1: only the allowed one", got)
		}
		// The denials are in the audit trail, from Alice's address.
		denied := waitAudit(t, st, "decision.deny", func(e models.AuditEvent) bool { return e.ActorID == user.ID }, 2)
		for _, e := range denied {
			if e.ClientIP != alice {
				t.Errorf("audit %s %s: got client_ip %q, want %s", e.Action, e.Target, e.ClientIP, alice)
			}
		}
	})

	t.Run("request id", func(t *testing.T) {
		hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
		for _, c := range []struct {
			name, sent string
			keep       bool
		}{
			{"the client's", "e2e-" + strings.ToLower(rand.Text()[:12]), true},
			{"none sent", "", false},
			{"not a valid id", "two words", false},
		} {
			var headers []string
			if c.sent != "" {
				headers = []string{"X-Request-ID", c.sent}
			}
			for _, path := range []string{"/api/dashboard/home", "/v1/me", "/me/", "/.well-known/jwks.json"} {
				r := send(t, clientFrom(alice), http.MethodGet, base+path, token, "", headers...)
				if r.status != http.StatusOK {
					t.Errorf("%s, %s: got %d %s, want 200", c.name, path, r.status, r.body)
					continue
				}
				id := r.requestID(t)
				if c.keep && id != c.sent {
					t.Errorf("%s, %s: got X-Request-ID %q back, want the client's %q", c.name, path, id, c.sent)
				}
				if !c.keep && !hex32.MatchString(id) {
					t.Errorf("%s, %s: got X-Request-ID %q back, want nginx's own", c.name, path, id)
				}
				rolegatePath := path
				if strings.HasPrefix(path, "/api/") {
					rolegatePath = "/v1/authz/forward" // the auth_request subrequest
					if !app.saw(path, id) {
						t.Errorf("%s, %s: the app got no request with X-Request-ID %q", c.name, path, id)
					}
				}
				line := waitLogLine(t, replicas, rolegatePath, id)
				if line.ClientIP != alice {
					t.Errorf("%s, %s: rolegate logged client_ip %q, want the client's %s", c.name, rolegatePath, line.ClientIP, alice)
				}
				if !waitFor(access, id) {
					t.Errorf("%s, %s: nginx's access log has no line with request id %q", c.name, path, id)
				}
			}
		}
	})

	t.Run("one client's failed logins do not lock out another", func(t *testing.T) {
		// The guesser tries names that do not exist, each claiming in its
		// own X-Forwarded-For to be Alice, until it is throttled.
		throttled := false
		for i := range 2 * loginIPLimit {
			name := "nobody-" + strings.ToLower(rand.Text()[:10])
			r := send(t, clientFrom(guesser), http.MethodPost, base+"/login/", "",
				fmt.Sprintf(`{"username": %q, "password": "wrong guess %d"}`, name, i), "X-Forwarded-For", alice)
			if r.status == http.StatusTooManyRequests {
				throttled = true
				break
			}
			if r.status != http.StatusUnauthorized {
				t.Fatalf("failed login %d: got %d %s, want 401 or 429", i, r.status, r.body)
			}
		}
		if !throttled {
			t.Fatalf("the guesser was never throttled after %d failed logins (limit %d)", 2*loginIPLimit, loginIPLimit)
		}
		got := login(t, clientFrom(alice), base, "alice", password)
		if got.status != http.StatusOK {
			t.Fatalf("Alice's correct login from %s: got %d %s, want 200", alice, got.status, got.body)
		}
		// Naming a fresh address does not get the guesser out either.
		r := send(t, clientFrom(guesser), http.MethodPost, base+"/login/", "",
			`{"username": "alice", "password": "a long test password"}`, "X-Forwarded-For", "203.0.113.9")
		if r.status != http.StatusTooManyRequests {
			t.Errorf("the guesser with X-Forwarded-For 203.0.113.9: got %d %s, want 429", r.status, r.body)
		}
		// Every failure was counted against the guesser's own address, on
		// both replicas; Alice's login against hers.
		failures := waitAudit(t, st, "login.failure", func(models.AuditEvent) bool { return true }, loginIPLimit)
		for _, e := range failures {
			if e.ClientIP != guesser {
				t.Errorf("audit login.failure: got client_ip %q, want the guesser's %s", e.ClientIP, guesser)
			}
		}
		success := waitAudit(t, st, "login.success", func(e models.AuditEvent) bool { return e.ActorID == user.ID }, 2)
		for _, e := range success {
			if e.ClientIP != alice {
				t.Errorf("audit login.success: got client_ip %q, want Alice's %s", e.ClientIP, alice)
			}
		}
		for i, r := range replicas {
			if n := strings.Count(r.log.String(), `"path":"/login/"`); n == 0 {
				t.Errorf("replica %d served no login, want nginx to use both", i+1)
			}
		}
	})
}

// nginxBinary finds nginx, or skips the test (fails it where CI requires
// nginx).
func nginxBinary(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("nginx"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	msg := "nginx is not installed (on Debian: apt-get install nginx-light); .ci/run installs it"
	if os.Getenv(RequireNginx) != "" {
		t.Fatalf("%s, and %s is set", msg, RequireNginx)
	}
	t.Skip(msg)
	return ""
}

// composeTrustedProxies returns what docker-compose.yml's replicas trust,
// which must be the compose network's subnet.
func composeTrustedProxies(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string
		}
		Networks map[string]struct {
			IPAM struct{ Config []struct{ Subnet string } }
		}
	}
	if err := yaml.UnmarshalWithOptions(data, &compose, yaml.AllowDuplicateMapKey()); err != nil {
		t.Fatal(err)
	}
	var subnet string
	if c := compose.Networks["default"].IPAM.Config; len(c) > 0 {
		subnet = c[0].Subnet
	}
	for _, name := range []string{"rolegate-1", "rolegate-2"} {
		if got := compose.Services[name].Environment["ROLEGATE_TRUSTED_PROXIES"]; got == "" || got != subnet {
			t.Fatalf("docker-compose.yml: %s has ROLEGATE_TRUSTED_PROXIES %q, want the default network's subnet %q, so that rolegate believes nginx's X-Forwarded-For", name, got, subnet)
		}
	}
	return subnet
}

// loginIPLimit is the replicas' failed logins per address, lowered from
// 100 to keep the test short.
const loginIPLimit = 5

// replica is one rolegate server on a real listener.
type replica struct {
	addr string
	srv  *server.Server
	log  *syncbuf.Buffer // its JSON log
}

// startReplica starts a server as "rolegate serve" would, on the shared
// database and key file, trusting the loopback network as its proxy.
func startReplica(t *testing.T, databaseURL, keyFile string) *replica {
	t.Helper()
	vars := map[string]string{
		"ROLEGATE_DATABASE_URL":        databaseURL,
		"ROLEGATE_AUTO_MIGRATE":        "true",
		"ROLEGATE_POLICY_MODEL":        "../policy/model.conf",
		"ROLEGATE_POLICY_FILE":         "../policy/policy.csv",
		"ROLEGATE_POLICY_TESTS":        "../policy/policy_test.csv",
		"ROLEGATE_POLICY_ROUTES":       "../policy/routes.csv",
		"ROLEGATE_POLICY_WATCH":        "false",
		"ROLEGATE_JWT_KEY_FILE":        keyFile,
		"ROLEGATE_ARGON2_MEMORY_KIB":   "64",
		"ROLEGATE_ARGON2_ITERATIONS":   "1",
		"ROLEGATE_SHUTDOWN_DRAIN":      "0s",
		"ROLEGATE_TRUSTED_PROXIES":     loopbackNetwork,
		"ROLEGATE_LOGIN_IP_LIMIT":      fmt.Sprint(loginIPLimit),
		"ROLEGATE_THROTTLE_BASE_DELAY": "1m", // a block outlasts the test
	}
	cfg, err := config.Load(func(k string) string { return vars[k] }, flag.NewFlagSet("rolegate", flag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{log: &syncbuf.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	if r.srv, err = server.New(ctx, cfg, slog.New(slog.NewJSONHandler(r.log, nil))); err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- r.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica %s: %v", r.addr, err)
		}
		r.srv.Close()
	})
	return r
}

func createUser(t *testing.T, srv *server.Server, username, role string) *models.User {
	t.Helper()
	hash, err := srv.Auth.HashPassword(context.Background(), auth.Requester{Account: username}, password)
	if err != nil {
		t.Fatal(err)
	}
	u, err := srv.Store.CreateUser(context.Background(), &models.User{Username: username, Role: role, IsActive: true, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// app is the upstream nginx guards. It answers every request with what
// it was told, and sets an X-Request-ID of its own, which nginx must not
// pass on beside its own.
type app struct {
	addr string
	mu   sync.Mutex
	seen []appRequest
}

// appRequest is what the app was told about one request.
type appRequest struct {
	Method        string `json:"method"`
	Path          string `json:"path"`
	UserID        string `json:"user_id"`
	UserRole      string `json:"user_role"`
	Authorization string `json:"authorization"`
	RequestID     string `json:"request_id"`
}

func startApp(t *testing.T) *app {
	t.Helper()
	a := &app{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen := appRequest{Method: r.Method, Path: r.URL.Path, UserID: r.Header.Get("X-User-Id"), UserRole: r.Header.Get("X-User-Role"),
			Authorization: r.Header.Get("Authorization"), RequestID: r.Header.Get("X-Request-ID")}
		a.mu.Lock()
		a.seen = append(a.seen, seen)
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-ID", "the-app-s-own")
		json.NewEncoder(w).Encode(seen)
	}))
	t.Cleanup(ts.Close)
	a.addr = strings.TrimPrefix(ts.URL, "http://")
	return a
}

func (a *app) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

// saw reports whether the app got a request for path with X-Request-ID
// id.
func (a *app) saw(path, id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.seen {
		if s.Path == path && s.RequestID == id {
			return true
		}
	}
	return false
}

// startNginx runs nginx in the foreground on the shipped nginx.conf, with
// each upstream address in upstreams replaced and the port it listens on
// moved to a free loopback port. nginx has no flag for its temporary
// directories, so the test adds their paths, under the test's own prefix,
// at the top of the http block; nothing else changes. It returns nginx's
// base URL and its access log.
func startNginx(t *testing.T, bin string, upstreams map[string]string) (string, *syncbuf.Buffer) {
	t.Helper()
	shipped, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		base, access, err := runNginx(t, bin, string(shipped), upstreams)
		if err == nil {
			return base, access
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatal(err)
		}
	}
}

var errPortTaken = errors.New("the port was taken before nginx could listen on it")

// runNginx starts nginx once; it is stopped when the test ends.
func runNginx(t *testing.T, bin, shipped string, upstreams map[string]string) (string, *syncbuf.Buffer, error) {
	t.Helper()
	port := freePort(t)
	conf := replaceOnce(t, shipped, "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port))
	for from, to := range upstreams {
		conf = replaceOnce(t, conf, "server "+from+";", "server "+to+";")
	}
	prefix := t.TempDir()
	var temp strings.Builder
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temp, "\n    %s_temp_path %s;", kind, filepath.Join(prefix, kind+"_temp"))
	}
	conf = replaceOnce(t, conf, "http {", "http {"+temp.String())
	confFile := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	access, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	cmd := exec.Command(bin, "-p", prefix+"/", "-c", confFile, "-e", "stderr",
		"-g", "daemon off; pid "+filepath.Join(prefix, "nginx.pid")+";")
	cmd.Stdout, cmd.Stderr = access, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a killed test
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("nginx did not stop within 10s of SIGTERM; killed")
		}
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			if strings.Contains(stderr.String(), "Address already in use") {
				return "", nil, errPortTaken
			}
			return "", nil, fmt.Errorf("nginx exited at startup (%v):\n%s", err, stderr.String())
		default:
		}
		if resp, err := http.Get(base + "/.well-known/jwks.json"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(func() {
					stop()
					if t.Failed() {
						t.Logf("nginx's error log:\n%s", stderr.String())
					}
				})
				return base, access, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("nginx did not answer within 10s:\n%s", stderr.String())
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// replaceOnce replaces old, which must appear exactly once in s, so that
// a change to the shipped file's addresses breaks the test loudly.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("nginx.conf: got %d of %q, want 1", n, old)
	}
	return strings.Replace(s, old, new, 1)
}

// clientFrom is an HTTP client whose connections come from ip, a
// loopback address of its own.
func clientFrom(ip string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}, Timeout: 10 * time.Second}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// requestID returns the answer's one X-Request-ID.
func (a answer) requestID(t *testing.T) string {
	t.Helper()
	ids := a.header.Values("X-Request-ID")
	if len(ids) != 1 {
		t.Fatalf("got X-Request-ID %q, want exactly one", ids)
	}
	return ids[0]
}

// send makes one request with client; body "" sends none. headers are
// name, value pairs.
func send(t *testing.T, client *http.Client, method, url, token, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

type loginAnswer struct {
	answer
	access string
}

func login(t *testing.T, client *http.Client, base, username, pw string) loginAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": pw})
	r := send(t, client, http.MethodPost, base+"/login/", "", string(body))
	var pair struct{ Access string }
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &pair); err != nil || pair.Access == "" {
			t.Fatalf("login %s: got %s, want an access token", username, r.body)
		}
	}
	return loginAnswer{answer: r, access: pair.Access}
}

// logLine is one "request" line of a replica's log.
type logLine struct {
	Msg       string `json:"msg"`
	Path      string `json:"path"`
	RequestID string `json:"request_id"`
	ClientIP  string `json:"client_ip"`
}

// waitLogLine returns the request line for path with request id id from
// whichever replica served it. A replica writes the line once it has
// answered, which may be just after the client got its answer.
func waitLogLine(t *testing.T, replicas []*replica, path, id string) logLine {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, r := range replicas {
			sc := bufio.NewScanner(strings.NewReader(r.log.String()))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var l logLine
				if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "request" && l.Path == path && l.RequestID == id {
					return l
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replica logged a request for %s with request id %q", path, id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAudit returns the audit events of action that match, once there are
// at least want of them: replicas write their events in batches.
func waitAudit(t *testing.T, st *store.Store, action string, match func(models.AuditEvent) bool, want int) []models.AuditEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		events, err := st.ListAuditEvents(context.Background(), models.AuditFilter{Action: action, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var out []models.AuditEvent
		for _, e := range events {
			if match(e) {
				out = append(out, e)
			}
		}
		if len(out) >= want {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit: got %d %s events, want at least %d", len(out), action, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor reports whether s appears in b within 5 seconds: nginx writes
// its access log line once the request is done.
func waitFor(b *syncbuf.Buffer, s string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
