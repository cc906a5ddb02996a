package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/metrics"
)

// BenchmarkObserve measures what the observe middleware adds to a request:
// compare "bare" with "metrics" (counting only, access log below its
// level) and "metrics+log" (a JSON access-log line to io.Discard).
func BenchmarkObserve(b *testing.B) {
	for _, bc := range []struct {
		name    string
		observe bool
		level   slog.Level
	}{
		{"bare", false, slog.LevelInfo},
		{"metrics", true, slog.LevelWarn},
		{"metrics+log", true, slog.LevelInfo},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := &handler{log: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: bc.level})), obs: metrics.New()}
			r := gin.New()
			r.Use(h.assignRequestID)
			if bc.observe {
				r.Use(h.observe)
			}
			r.GET("/v1/users/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
			req := httptest.NewRequest(http.MethodGet, "/v1/users/7", nil)
			req.Header.Set(RequestIDHeader, "bench-1")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(w, req)
			}
		})
	}
}
