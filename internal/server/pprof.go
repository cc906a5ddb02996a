package server

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
)

// ServePprof serves Go's profiler at /debug/pprof/ on ln until ctx is done.
// It is a separate listener, off unless ROLEGATE_PPROF_ADDR is set,
// because profiles reveal the program's internals and cost CPU.
func ServePprof(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serveUntilDone(ctx, ln, mux)
}
