//go:build fault

package fault_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM while slow logins are in flight (real
// argon2id cost, one hash at a time): /readyz turns 503 first, the
// listener then refuses new connections, and every login in flight still
// gets its tokens.
func TestGracefulShutdown(t *testing.T) {
	const drain = 2 * time.Second
	dbURL := freshDatabase(t)
	env := serverEnv(t, dbURL, t.TempDir(), map[string]string{
		"ROLEGATE_ARGON2_MEMORY_KIB":  "19456",
		"ROLEGATE_ARGON2_ITERATIONS":  "2",
		"ROLEGATE_HASH_CONCURRENCY":   "1",
		"ROLEGATE_HASH_QUEUE_TIMEOUT": "2m",
		"ROLEGATE_SHUTDOWN_TIMEOUT":   "2m",
		"ROLEGATE_SHUTDOWN_DRAIN":     drain.String(),
	})
	srv := startServer(t, env)
	c := newClient(srv.base)
	admin := firstAdmin(t, c, env)
	start := time.Now()
	c.login(t, admin)
	perLogin := time.Since(start)
	// Enough logins, queued for the one hashing slot, to outlast the drain
	// by about three seconds.
	n := min(max(int((drain+3*time.Second)/perLogin)+2, 4), 60)

	type login struct {
		r   reply
		end time.Time
	}
	written := make(chan struct{}, n)
	results := make(chan login, n)
	for range n {
		go func() {
			r := slowLogin(srv.base, admin.username, func() { written <- struct{}{} })
			results <- login{r, time.Now()}
		}()
	}
	for range n {
		select {
		case <-written:
		case <-time.After(30 * time.Second):
			t.Fatal("logins not sent within 30s")
		}
	}
	sigterm := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	notReady := waitFor(t, 10*time.Second, "/readyz 503 after SIGTERM", func() bool {
		return freshGet(srv.base+"/readyz") == http.StatusServiceUnavailable
	})
	if got := freshGet(srv.base + "/healthz"); got != http.StatusOK && time.Since(sigterm) < drain {
		t.Errorf("GET /healthz while draining: got %d, want 200", got)
	}
	refused := waitFor(t, 30*time.Second, "new connections refused", func() bool {
		conn, err := net.DialTimeout("tcp", srv.addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	ok, afterClose := 0, 0
	for range n {
		select {
		case l := <-results:
			var p tokenPair
			if l.r.status != http.StatusOK || !l.r.decode(&p) || p.Access == "" || p.Refresh == "" {
				t.Errorf("login in flight at SIGTERM: got %v, want 200 with tokens", l.r)
				continue
			}
			ok++
			if l.end.After(refused) {
				afterClose++
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("logins in flight not answered within 2m")
		}
	}
	if !srv.wait(time.Minute) {
		t.Fatal("serve still running a minute after SIGTERM")
	}
	if srv.err != nil {
		t.Errorf("serve exit: got %v, want status 0", srv.err)
	}
	if refused.Sub(sigterm) < drain {
		t.Errorf("the listener closed %v after SIGTERM, before the drain delay %v", refused.Sub(sigterm), drain)
	}
	if afterClose == 0 {
		t.Errorf("no login was still in flight when the listener closed; the test proved nothing about in-flight requests")
	}
	t.Logf("shutdown: %d logins in flight (%.0fms each, one at a time); /readyz 503 %.0fms after SIGTERM, listener closed after %.0fms; "+
		"%d of %d logins answered 200, %d of them after the listener closed",
		n, ms(perLogin), ms(notReady.Sub(sigterm)), ms(refused.Sub(sigterm)), ok, n, afterClose)
}

// slowLogin logs in on a connection of its own and calls written once the
// request is sent.
func slowLogin(base, username string, written func()) reply {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req, err := http.NewRequest(http.MethodPost, base+"/login/", bytes.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { written() },
	}))
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Minute}
	resp, err := hc.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: b, err: err}
}

// freshGet is the status of a GET on a new connection, 0 if none.
func freshGet(url string) int {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
