package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/syncbuf"
)

// dockerBuild is the Dockerfile's go build command, with its output path
// replaced by out.
func dockerBuild(t *testing.T, out string) string {
	t.Helper()
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`RUN (CGO_ENABLED=0 go build [^\n&]*?) -o /out/rolegate (\S+)`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("Dockerfile: no RUN CGO_ENABLED=0 go build ... -o /out/rolegate PKG")
	}
	return m[1] + " -o " + out + " " + m[2]
}

// TestStaticBinaryOnPostgres builds rolegate exactly as the Dockerfile
// does and runs the production path against PostgreSQL: keys init,
// migrate up, users create, serve, login, GET /me/ and healthcheck.
func TestStaticBinaryOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pg := dbtest.Postgres(t).URL
	dir := t.TempDir()
	bin := filepath.Join(dir, "rolegate")
	build := exec.Command("sh", "-c", dockerBuild(t, bin))
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build.Args[2], err, out)
	}
	env := append(os.Environ(),
		"ROLEGATE_ENV=production",
		"ROLEGATE_DATABASE_URL="+pg,
		"ROLEGATE_JWT_KEY_FILE="+filepath.Join(dir, "data", "jwt-keys.json"),
		"ROLEGATE_ADDR=127.0.0.1:0",
		"ROLEGATE_ARGON2_MEMORY_KIB=64", "ROLEGATE_ARGON2_ITERATIONS=1",
		"ROLEGATE_AUTO_MIGRATE=", "ROLEGATE_CONFIG=",
	)
	rolegate := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env, cmd.Stdin = "../..", env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rolegate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	rolegate("", "keys", "init")
	if out := rolegate("", "migrate", "up"); !strings.Contains(out, "applied ") || strings.Contains(out, "pending") {
		t.Fatalf("migrate up: got %q, want every migration applied", out)
	}
	rolegate("a long production passphrase\n", "users", "create", "--username", "ops", "--role", "admin", "--password-stdin")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve")
	serve.Dir, serve.Env = "../..", env
	serve.Cancel = func() error { return serve.Process.Signal(os.Interrupt) }
	var stdout, stderr syncbuf.Buffer
	serve.Stdout, serve.Stderr = &stdout, &stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		serve.Wait()
	}()
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		if addr := listeningAddr(stderr.String()); addr != "" {
			base = "http://" + addr
		}
	}

	resp, tokens := postJSON(t, base+"/login/", map[string]string{"username": "ops", "password": "a long production passphrase"})
	access, _ := tokens["access"].(string)
	if resp.StatusCode != http.StatusOK || access == "" {
		t.Fatalf("login: got %d %v, want 200 with tokens", resp.StatusCode, tokens)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/me/", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	me, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var profile map[string]any
	json.NewDecoder(me.Body).Decode(&profile)
	me.Body.Close()
	if me.StatusCode != http.StatusOK || profile["username"] != "ops" || profile["role"] != "admin" {
		t.Errorf("GET /me/: got %d %v, want 200 for ops, admin", me.StatusCode, profile)
	}
	if out := rolegate("", "healthcheck", "--url", base+"/readyz"); !strings.Contains(out, "ok") {
		t.Errorf("healthcheck: got %q, want ok", out)
	}
	cancel()
	serve.Wait()
	for line := range strings.SplitSeq(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log: got %q, want JSON lines only (stderr is not a terminal)", line)
		}
	}
	if stdout.String() != "" {
		t.Errorf("stdout: got %q, want nothing: serve says everything in its log", stdout.String())
	}
}
