package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/syncbuf"
)

// testEnv is a getenv for one database, with cheap hashing.
func testEnv(t *testing.T, dbURL string, extra map[string]string) func(string) string {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"ROLEGATE_ADDR":              "127.0.0.1:0",
		"ROLEGATE_DATABASE_URL":      dbURL,
		"ROLEGATE_POLICY_MODEL":      "../../policy/model.conf",
		"ROLEGATE_POLICY_FILE":       "../../policy/policy.csv",
		"ROLEGATE_JWT_KEY_FILE":      filepath.Join(dir, "keys.json"),
		"ROLEGATE_ARGON2_MEMORY_KIB": "64",
		"ROLEGATE_ARGON2_ITERATIONS": "1",
		"ROLEGATE_SHUTDOWN_DRAIN":    "0s",
		"ROLEGATE_AUTO_MIGRATE":      "true",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

func runCmd(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

// listeningAddr is the address in a server's "rolegate listening" log
// line, or "" while there is none.
func listeningAddr(log string) string {
	for line := range strings.SplitSeq(log, "\n") {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "rolegate listening" {
			return entry.Addr
		}
	}
	return ""
}

// startServer runs "rolegate serve" until the test ends and returns its
// base URL.
func startServer(t *testing.T, getenv func(string) string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv, strings.NewReader(""), &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve after shutdown: got %v, want nil", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if addr := listeningAddr(stderr.String()); addr != "" {
			return "http://" + addr
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start:\n%s", stderr.String())
	return ""
}

func postJSON(t *testing.T, url string, body any) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// TestFirstAdminCanLogIn follows the README: create the first admin with
// the CLI, start the server, log in, and reach the admin area.
func TestFirstAdminCanLogIn(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, nil)
			out, err := runCmd(t, getenv, "correct horse battery staple\n",
				"users", "create", "--username", "root", "--email", "root@example.com", "--role", "admin", "--password-stdin")
			if err != nil || !strings.Contains(out, "created user") {
				t.Fatalf("users create: got %q, %v", out, err)
			}
			base := startServer(t, getenv)
			resp, tokens := postJSON(t, base+"/login/", map[string]string{"username": "root", "password": "correct horse battery staple"})
			if resp.StatusCode != http.StatusOK || tokens["access"] == nil || tokens["refresh"] == nil {
				t.Fatalf("login: got %d %v, want 200 with access and refresh", resp.StatusCode, tokens)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/admin-area/", nil)
			req.Header.Set("Authorization", "Bearer "+tokens["access"].(string))
			areaResp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer areaResp.Body.Close()
			var area map[string]string
			json.NewDecoder(areaResp.Body).Decode(&area)
			if areaResp.StatusCode != http.StatusOK || area["message"] != "Hello Admin root!" {
				t.Errorf("admin area: got %d %v, want 200 Hello Admin root!", areaResp.StatusCode, area)
			}
			if out, err := runCmd(t, getenv, "", "healthcheck", "--url", base+"/readyz"); err != nil || !strings.Contains(out, "ok") {
				t.Errorf("healthcheck: got %q, %v; want ok", out, err)
			}
		})
	}
}

func TestUsersCreateRefusesBadInput(t *testing.T) {
	target := dbtest.Targets(t)[0]
	getenv := testEnv(t, target.URL, nil)
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"correct horse battery staple\n", []string{"--username", "a", "--role", "superuser"}, `"superuser" is not a role`},
		{"short\n", []string{"--username", "a", "--role", "user"}, "too short"},
		{"correct horse battery staple\n", []string{"--username", "bad name", "--role", "user"}, "username"},
		{"", []string{"--username", "a", "--role", "user"}, "no password"},
		{"password1234\n", []string{"--username", "a", "--role", "user"}, "password: This password has appeared in a data breach"},
		{"wonderland.alice.1999\n", []string{"--username", "wonderland.alice", "--role", "user"}, "password: This password is too similar to your username"},
		{"correct horse battery staple\n", []string{"--username", "ann", "--first-name", "Ann\u202e", "--role", "user"}, "first-name: This field may not contain control or bidirectional-control characters."},
	}
	for _, c := range cases {
		args := append([]string{"users", "create", "--password-stdin"}, c.args...)
		if out, err := runCmd(t, getenv, c.stdin, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %q, %v; want an error containing %q", c.args, out, err, c.want)
		}
	}
	create := []string{"users", "create", "--username", "dup", "--role", "user", "--password-stdin"}
	if _, err := runCmd(t, getenv, "correct horse battery staple\n", create...); err != nil {
		t.Fatal(err)
	}
	create[3] = "DUP"
	if _, err := runCmd(t, getenv, "correct horse battery staple\n", create...); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate username in other case: got %v, want already exists", err)
	}
	create[3] = "\u0501up" // Cyrillic "ԁ" for "d"
	if _, err := runCmd(t, getenv, "correct horse battery staple\n", create...); err == nil || !strings.Contains(err.Error(), "username: A user with a username that looks the same already exists.") {
		t.Errorf("lookalike username: got %v, want it refused as looking the same", err)
	}
}

// TestUsersCreateListsEveryProblem checks that "users create" reports
// every problem of the account at once, one a line, by the flag that set
// it, in the order of the flags' help.
func TestUsersCreateListsEveryProblem(t *testing.T) {
	pol, err := authz.Load("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	getenv := testEnv(t, dbtest.Targets(t)[0].URL, nil)
	_, err = runCmd(t, getenv, "short\n", "users", "create", "--password-stdin", "--username", "bad name", "--email", "nope",
		"--first-name", "Ann\u202e", "--last-name", "\u2066x", "--role", "czar")
	want := strings.Join([]string{
		"username: Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
		"email: Enter a valid email address.",
		"first-name: This field may not contain control or bidirectional-control characters.",
		"last-name: This field may not contain control or bidirectional-control characters.",
		"password: This password is too short. It must contain at least 12 characters.",
		`role: "czar" is not a role the policy defines (` + strings.Join(pol.Roles(), ", ") + ")",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("users create with every attribute bad: got %v, want\n%s", err, want)
	}
}

func TestMigrateUpDownStatus(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, nil)
			run := func(args ...string) (string, error) {
				t.Helper()
				var out, errOut bytes.Buffer
				err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
				return out.String(), err
			}
			status, err := run("migrate", "status")
			ids := regexp.MustCompile(`(?m)^pending  (\S+)$`).FindAllStringSubmatch(status, -1)
			if err != nil || len(ids) < 2 || ids[0][1] != "0001_init" || strings.Contains(status, "applied") {
				t.Fatalf("status of a new database: got %q, %v; want every migration pending", status, err)
			}
			newest := ids[len(ids)-1][1]
			var applied []string
			for _, m := range ids {
				applied = append(applied, "applied "+m[1])
			}
			if out, err := run("migrate", "up"); err != nil || out != strings.Join(applied, "\n")+"\n" {
				t.Errorf("migrate up: got %q, %v; want each migration it applied, in order", out, err)
			}
			if out, err := run("migrate", "up"); err != nil || out != "nothing to apply: every migration has run\n" {
				t.Errorf("migrate up again: got %q, %v; want nothing to apply", out, err)
			}

			// Without --yes, down names what it would roll back and changes nothing.
			out, err := run("migrate", "down")
			want := "migrate down would roll back " + newest + " and lose what it holds; add --yes to roll it back; see rolegate migrate down --help"
			if exitCode(err) != 2 || err.Error() != want || out != "" {
				t.Errorf("migrate down without --yes: got %q, %v; want exit 2 and %q", out, err, want)
			}
			if status, _ := run("migrate", "status"); strings.Contains(status, "pending") {
				t.Errorf("after a refused down: got %q, want every migration still applied", status)
			}
			if out, err := run("migrate", "down", "--yes"); err != nil || out != "rolled back "+newest+"\n" {
				t.Errorf("migrate down --yes: got %q, %v; want %s named", out, err, newest)
			}
			if status, _ := run("migrate", "status"); !strings.HasSuffix(status, "pending  "+newest+"\n") || strings.Count(status, "pending") != 1 {
				t.Errorf("after down --yes: got %q, want only %s pending", status, newest)
			}
			if out, err := run("migrate"); err != nil || out != "applied "+newest+"\n" {
				t.Errorf("migrate (as up): got %q, %v; want %s applied again", out, err, newest)
			}
		})
	}
}

// TestMigrateDownOnANewDatabase: nothing has run, so nothing is rolled
// back, with or without --yes.
func TestMigrateDownOnANewDatabase(t *testing.T) {
	getenv := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "new.db"), nil)
	for _, args := range [][]string{{"migrate", "down"}, {"migrate", "down", "--yes"}} {
		if out, err := runCmd(t, getenv, "", args...); err != nil || out != "nothing to roll back: no migration has run\n" {
			t.Errorf("%v: got %q, %v; want nothing to roll back", args, out, err)
		}
	}
}

func TestServeRefusesBrokenPolicy(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.csv")
	os.WriteFile(policy, []byte("p, admin, users, read, any\np, admin, users\n"), 0o600)
	getenv := testEnv(t, dbtest.Targets(t)[0].URL, map[string]string{"ROLEGATE_POLICY_FILE": policy})
	_, err := runCmd(t, getenv, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "policy.csv:2:") {
		t.Errorf("got %v, want an error at policy.csv:2", err)
	}
}

func TestCommandLineMistakes(t *testing.T) {
	getenv := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	for _, args := range [][]string{{}, {"frobnicate"}, {"users"}, {"users", "create", "--username", "x"}, {"migrate", "sideways"}} {
		var ue usageError
		if _, err := runCmd(t, getenv, "", args...); !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
	bad := testEnv(t, "mysql://nope", map[string]string{"ROLEGATE_ACCESS_TTL": "forever"})
	if _, err := runCmd(t, bad, "", "serve"); err == nil || !strings.Contains(err.Error(), "ROLEGATE_ACCESS_TTL") {
		t.Errorf("bad configuration: got %v, want it named", err)
	}
}

func TestSIGHUPReloadsThePolicy(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.csv")
	shipped, err := os.ReadFile("../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(policy, shipped, 0o644)
	getenv := testEnv(t, "sqlite:"+filepath.Join(dir, "x.db"), map[string]string{
		"ROLEGATE_POLICY_FILE": policy, "ROLEGATE_POLICY_WATCH": "false",
	})
	base := startServer(t, getenv)
	version := func() string {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Policy-Version")
	}
	before := version()
	os.WriteFile(policy, append(shipped, "p, staff, admin_area, read, any\n"...), 0o644)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for version() == before {
		if time.Now().After(deadline) {
			t.Fatal("policy version unchanged 5s after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
