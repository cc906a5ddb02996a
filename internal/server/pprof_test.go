package server_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/server"
)

func TestServePprof(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.ServePprof(ctx, ln) }()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/cmdline: got %d, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServePprof: got %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServePprof did not stop after cancel")
	}
}
