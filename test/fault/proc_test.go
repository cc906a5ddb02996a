//go:build fault

package fault_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/syncbuf"
)

// serverEnv is the configuration of a server on databaseURL whose key file
// is in dir, with cheap hashing; extra overrides or adds settings.
func serverEnv(t *testing.T, databaseURL, dir string, extra map[string]string) map[string]string {
	t.Helper()
	policy, err := filepath.Abs("../../policy")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ROLEGATE_ADDR":              "127.0.0.1:0",
		"ROLEGATE_DATABASE_URL":      databaseURL,
		"ROLEGATE_POLICY_MODEL":      filepath.Join(policy, "model.conf"),
		"ROLEGATE_POLICY_FILE":       filepath.Join(policy, "policy.csv"),
		"ROLEGATE_POLICY_TESTS":      filepath.Join(policy, "policy_test.csv"),
		"ROLEGATE_POLICY_ROUTES":     filepath.Join(policy, "routes.csv"),
		"ROLEGATE_POLICY_WATCH":      "false",
		"ROLEGATE_JWT_KEY_FILE":      filepath.Join(dir, "keys.json"),
		"ROLEGATE_ARGON2_MEMORY_KIB": "64",
		"ROLEGATE_ARGON2_ITERATIONS": "1",
		"ROLEGATE_SHUTDOWN_DRAIN":    "0s",
		"ROLEGATE_LOG_LEVEL":         "warn",
		"ROLEGATE_AUTO_MIGRATE":      "true",
		// The load test's 32 clients log in again and again as a few
		// accounts: load, not the abuse the successful-login limit stops.
		"ROLEGATE_LOGIN_SESSION_LIMIT": "1000000",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func environ(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// command runs a rolegate command (not serve) to completion.
func command(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rolegate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// process is a running "rolegate serve".
type process struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	addr   string // 127.0.0.1:PORT
	stderr *syncbuf.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // how it exited, once done is closed
}

// listening finds the address in serve's startup log line (JSON, as the
// log is not a terminal).
var listening = regexp.MustCompile(`"msg":"rolegate listening","addr":"([^"]+)"`)

// startServer starts "rolegate serve" and waits until it listens. When the
// test ends it is stopped if still running, and its log is checked for
// data races.
func startServer(t *testing.T, env map[string]string) *process {
	t.Helper()
	p := &process{stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, "serve")
	p.cmd.Env = environ(env)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	for deadline := time.Now().Add(60 * time.Second); p.addr == ""; {
		if m := listening.FindStringSubmatch(p.stderr.String()); m != nil {
			p.addr, p.base = m[1], "http://"+m[1]
			break
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited at start: %v\n%s", p.err, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen within 60s\n%s", p.stderr.String())
		}
	}
	return p
}

// stop ends the process with SIGTERM (or SIGKILL if it lingers) and
// reports any data race it logged.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.wait(60 * time.Second) {
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("serve still running 60s after SIGTERM")
	}
	if log := p.stderr.String(); strings.Contains(log, "DATA RACE") {
		t.Errorf("the server logged a data race:\n%s", log)
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// wait reports whether the process exited within timeout.
func (p *process) wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// running reports whether the process has not exited.
func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *process) String() string {
	return fmt.Sprintf("rolegate serve (pid %d) on %s", p.cmd.Process.Pid, p.addr)
}
