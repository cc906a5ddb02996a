package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/dbtest"
)

func TestConfigPrint(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rolegate.yaml")
	os.WriteFile(file, []byte("access-ttl: 3m\nlog-level: debug\n"), 0o600)
	getenv := testEnv(t, "postgres://app:hunter2-secret@db.example:5432/rolegate", map[string]string{
		"ROLEGATE_CONFIG": file, "ROLEGATE_LOG_LEVEL": "warn",
	})
	out, err := runCmd(t, getenv, "", "config", "print", "--access-ttl", "4m")
	if err != nil {
		t.Fatalf("config print: %v\n%s", err, out)
	}
	if strings.Contains(out, "hunter2-secret") {
		t.Errorf("config print shows the database password:\n%s", out)
	}
	for _, want := range [][]string{
		{"database-url", "postgres://app:xxxxx@db.example:5432/rolegate", "env"},
		{"access-ttl", "4m", "flag"},
		{"log-level", "warn", "env"},
		{"jwt-issuer", "rolegate", "default"},
		{"config", file},
	} {
		if !hasRow(out, want) {
			t.Errorf("config print: want a row %v in\n%s", want, out)
		}
	}
	file2 := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file2, []byte("jwt-issuer: filed\nbogus: 1\n"), 0o600)
	out, err = runCmd(t, getenv, "", "config", "print", "--config", file2)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), file2+`:2: unknown setting "bogus"`) || out != "" {
		t.Errorf("config print with a bad file: got %v\n%s\nwant the error with its line, and no table", err, out)
	}
}

// hasRow reports whether some line of out holds exactly fields.
func hasRow(out string, fields []string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

func TestKeysInit(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "sub", "keys.json")
	getenv := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), map[string]string{"ROLEGATE_JWT_KEY_FILE": keys})
	out, err := runCmd(t, getenv, "", "keys", "init")
	if err != nil || !strings.Contains(out, "created "+keys) {
		t.Fatalf("keys init: got %q, %v; want created", out, err)
	}
	first, _ := os.ReadFile(keys)
	out, err = runCmd(t, getenv, "", "keys", "init")
	second, _ := os.ReadFile(keys)
	if err != nil || !strings.Contains(out, "left unchanged") || string(first) != string(second) {
		t.Errorf("keys init again: got %q, %v, file changed %v; want it left unchanged", out, err, string(first) != string(second))
	}
	if st, err := os.Stat(keys); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: got %v, %v; want mode 0600", st.Mode(), err)
	}
}

func TestProductionServeRefusesUnsafeSetups(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys.json")
	getenv := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), map[string]string{
		"ROLEGATE_ENV": "production", "ROLEGATE_JWT_KEY_FILE": keys,
	})
	_, err := runCmd(t, getenv, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "production needs PostgreSQL") || !strings.Contains(err.Error(), "rolegate keys init") {
		t.Fatalf("serve in production on SQLite without keys: got %v, want both problems", err)
	}
	if _, err := os.Stat(keys); err == nil {
		t.Error("serve in production created the key file, want none")
	}
}

// TestPostgresServeWaitsForMigrateUp checks that on PostgreSQL, serve does
// not migrate by default, and says what to run.
func TestPostgresServeWaitsForMigrateUp(t *testing.T) {
	getenv := testEnv(t, dbtest.Postgres(t).URL, map[string]string{"ROLEGATE_AUTO_MIGRATE": ""})
	_, err := runCmd(t, getenv, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "run 'rolegate migrate up'") {
		t.Fatalf("serve on an empty PostgreSQL schema: got %v, want a refusal naming migrate up", err)
	}
	if out, err := runCmd(t, getenv, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, out)
	}
	startServer(t, getenv)
}

// TestSQLiteServeMigratesByDefault checks that on SQLite serve migrates a
// new database itself.
func TestSQLiteServeMigratesByDefault(t *testing.T) {
	getenv := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "new.db"), map[string]string{"ROLEGATE_AUTO_MIGRATE": ""})
	base := startServer(t, getenv)
	resp, _ := postJSON(t, base+"/login/", map[string]string{"username": "nobody", "password": "a long wrong password"})
	if resp.StatusCode != 401 {
		t.Errorf("login on the new database: got %d, want 401 (the users table exists)", resp.StatusCode)
	}
}

func TestLogFormat(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, "info", "auto").Info("hello", "k", "v")
	newLogger(&buf, "info", "json").Debug("hidden")
	newLogger(&buf, "debug", "text").Debug("plain", "k", "v")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !json.Valid([]byte(lines[0])) || !strings.Contains(lines[0], `"msg":"hello"`) ||
		!strings.HasPrefix(lines[1], "time=") || !strings.Contains(lines[1], "msg=plain k=v") {
		t.Errorf("got %q, want a JSON line (auto, not a terminal) and a text line", lines)
	}
	tty, err := os.OpenFile("/dev/null", os.O_WRONLY, 0) // a character device, as a terminal is
	if err != nil {
		t.Skip(err)
	}
	defer tty.Close()
	if _, ok := newLogger(tty, "info", "auto").Handler().(*slog.TextHandler); !ok {
		t.Error("auto on a character device: want the text handler")
	}
}

// serve sets ROLEGATE_MEMORY_LIMIT as a soft memory limit unless it is 0
// or GOMEMLIMIT is set.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		setting, gomemlimit string
		want                int64
		ok                  bool
	}{
		{"", "", 0, false},                       // the default: none
		{"auto", "", 64<<20 + 2*19456<<10, true}, // with two hashing slots
		{"64", "", 64 << 20, true},
		{"0", "", 0, false},
		{"64", "1GiB", 0, false},
	} {
		env := map[string]string{"ROLEGATE_MEMORY_LIMIT": tc.setting, "GOMEMLIMIT": tc.gomemlimit, "ROLEGATE_HASH_CONCURRENCY": "2"}
		getenv := func(k string) string { return env[k] }
		cfg, err := config.Load(getenv, flag.NewFlagSet("serve", flag.ContinueOnError), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := memoryLimit(cfg, getenv); got != tc.want || ok != tc.ok {
			t.Errorf("ROLEGATE_MEMORY_LIMIT=%q GOMEMLIMIT=%q: got %d, %v; want %d, %v", tc.setting, tc.gomemlimit, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMemoryLimitRefusesNonsense(t *testing.T) {
	for _, kv := range [][2]string{
		{"ROLEGATE_MEMORY_LIMIT", "-1"}, {"ROLEGATE_MEMORY_LIMIT", "128MiB"}, {"ROLEGATE_MEMORY_LIMIT", "lots"},
		{"ROLEGATE_GC_PERCENT", "0"}, {"ROLEGATE_GC_PERCENT", "-1"},
	} {
		getenv := func(k string) string { return map[string]string{kv[0]: kv[1]}[k] }
		if _, err := config.Load(getenv, flag.NewFlagSet("serve", flag.ContinueOnError), nil); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%q: got %v, want an error naming it", kv[0], kv[1], err)
		}
	}
}
