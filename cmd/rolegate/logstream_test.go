package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/syncbuf"
)

// serveOnce runs "rolegate serve" until it listens, asks GET /healthz,
// stops it, and returns what it wrote and the policy version it served.
func serveOnce(t *testing.T, getenv func(string) string) (stdout, stderr, policyVersion string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv, strings.NewReader(""), &out, &errOut) }()
	addr := ""
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", errOut.String())
		}
		addr = listeningAddr(errOut.String())
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop 10s after its context ended")
	}
	return out.String(), errOut.String(), resp.Header.Get("X-Policy-Version")
}

// logLines parses every line of a log as a JSON object, failing the test
// on any that is not one.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSuffix(log, "\n"), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["time"] == nil || entry["level"] == nil || entry["msg"] == nil {
			t.Errorf("log line %q: want a JSON object with time, level and msg (%v)", line, err)
			continue
		}
		lines = append(lines, entry)
	}
	return lines
}

// withMsg returns the lines whose msg is msg.
func withMsg(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// TestServeWritesOneLogStream: a server's whole output, listeners
// included, is JSON log lines on standard error, and one line at startup
// names the environment, the database with its password hidden, the
// migrations it applied, whether it created the key file, and the policy
// version it serves.
func TestServeWritesOneLogStream(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			dbURL := target.URL
			if target.Name == "postgres" {
				dbURL = withPassword(t, dbURL, "s3cret-pw")
			}
			getenv := testEnv(t, dbURL, map[string]string{
				"ROLEGATE_METRICS_ADDR": "127.0.0.1:0", "ROLEGATE_PPROF_ADDR": "127.0.0.1:0",
			})
			for run, fresh := range []bool{true, false} {
				stdout, stderr, version := serveOnce(t, getenv)
				if stdout != "" {
					t.Errorf("start %d: stdout got %q, want nothing", run+1, stdout)
				}
				if strings.Contains(stderr, "s3cret-pw") {
					t.Errorf("start %d: the log shows the database password", run+1)
				}
				lines := logLines(t, stderr)
				for _, msg := range []string{"metrics listening", "pprof listening", "request", "shutting down"} {
					if len(withMsg(lines, msg)) == 0 {
						t.Errorf("start %d: no %q line in\n%s", run+1, msg, stderr)
					}
				}
				starts := withMsg(lines, "rolegate listening")
				if len(starts) != 1 {
					t.Fatalf("start %d: got %d startup lines, want 1:\n%s", run+1, len(starts), stderr)
				}
				s := starts[0]
				migrated, _ := s["migrated"].([]any)
				if s["env"] != "development" || s["database"] != config.RedactURL(dbURL) || s["policy_version"] != version ||
					s["key_file_created"] != fresh || s["policy_source"] != "file" || s["migrated"] == nil {
					t.Errorf("start %d: startup line %v: want development, %s, key file created %v, policy %s",
						run+1, s, config.RedactURL(dbURL), fresh, version)
				}
				if fresh && (len(migrated) < 2 || migrated[0] != "0001_init") || !fresh && len(migrated) != 0 {
					t.Errorf("start %d: migrated %v; want every migration on the first start, none after", run+1, migrated)
				}
			}
		})
	}
}

// TestServeLogsWhatStopsIt: a server that cannot start says why in its
// log, as JSON like every other line, and main does not print it again.
func TestServeLogsWhatStopsIt(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "policy.csv")
	os.WriteFile(policy, []byte("p, admin, users, read, any\np, admin, users\n"), 0o600)
	getenv := testEnv(t, dbtest.Targets(t)[0].URL, map[string]string{"ROLEGATE_POLICY_FILE": policy})
	stdout, stderr, err := runSplit(t, getenv, "serve")
	if exitCode(err) != 1 || stdout != "" {
		t.Fatalf("got %v, stdout %q; want exit 1 and nothing on stdout", err, stdout)
	}
	stopped := withMsg(logLines(t, stderr), "rolegate stopped")
	if len(stopped) != 1 || !strings.Contains(stopped[0]["err"].(string), "policy.csv:2:") || stopped[0]["level"] != "ERROR" {
		t.Errorf("got %v in\n%s\nwant one error line naming policy.csv:2", stopped, stderr)
	}
	var printed bytes.Buffer
	printError(&printed, err)
	if printed.Len() != 0 {
		t.Errorf("main would print %q after the log line, want nothing", printed.String())
	}
	printError(&printed, usageError{"unknown flag --x"})
	if printed.String() != "rolegate: unknown flag --x\n" {
		t.Errorf("another command's error: got %q, want it printed", printed.String())
	}
}

// TestStartupLinesWhateverTheLogLevel: with ROLEGATE_LOG_LEVEL=warn the
// info lines are gone, but not the ones that say where the server
// listens and what it started with.
func TestStartupLinesWhateverTheLogLevel(t *testing.T) {
	getenv := testEnv(t, dbtest.Targets(t)[0].URL, map[string]string{
		"ROLEGATE_LOG_LEVEL": "warn", "ROLEGATE_METRICS_ADDR": "127.0.0.1:0",
	})
	_, stderr, _ := serveOnce(t, getenv) // it fails unless the startup line is there
	lines := logLines(t, stderr)
	if len(withMsg(lines, "metrics listening")) != 1 || len(withMsg(lines, "request")) != 0 {
		t.Errorf("got\n%s\nwant the listener lines, and no info line such as a request's", stderr)
	}
}
