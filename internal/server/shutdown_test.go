package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/server"
)

// TestShutdownDrainsBeforeClosing checks the order of a shutdown: /readyz
// turns 503 at once while requests are still served, and only after the
// drain delay does the listener close.
func TestShutdownDrainsBeforeClosing(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, false)
	cfg.ShutdownDrain = 700 * time.Millisecond
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	if got := statusOfGet(t, base+"/readyz"); got != http.StatusOK {
		t.Fatalf("readyz before shutdown: got %d, want 200", got)
	}

	cancel()
	stopping := time.Now()
	deadline := stopping.Add(5 * time.Second)
	for statusOfGet(t, base+"/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("readyz: still 200 5s after shutdown began, want 503")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := statusOfGet(t, base+"/healthz"); got != http.StatusOK {
		t.Errorf("healthz while draining: got %d, want 200 (requests are still served)", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: got %v, want nil", err)
	}
	if took := time.Since(stopping); took < cfg.ShutdownDrain {
		t.Errorf("serve returned %v after shutdown began, want at least the drain delay %v", took, cfg.ShutdownDrain)
	}
	_, err = http.Get(base + "/healthz")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("request after shutdown: got %v, want connection refused", err)
	}
}

// statusOfGet is the status of a GET on a new connection.
func statusOfGet(t *testing.T, url string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
