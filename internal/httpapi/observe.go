package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/metrics"
	"github.com/rolegate/rolegate/models"
)

// Observer counts the API's traffic, decisions, logins and refreshes.
// Its methods are called on the request path and must be cheap.
type Observer interface {
	// ObserveRequest counts a finished request; route is "" when no route
	// matched.
	ObserveRequest(route, method string, status int, elapsed time.Duration)
	ObserveDecision(resource, action string, allowed bool, err error)
	ObserveLogin(result string)
	ObserveRefresh(result string)
}

type noObserver struct{}

func (noObserver) ObserveRequest(string, string, int, time.Duration) {}
func (noObserver) ObserveDecision(string, string, bool, error)       {}
func (noObserver) ObserveLogin(string)                               {}
func (noObserver) ObserveRefresh(string)                             {}

// observe counts every request and writes its access-log line, after the
// handlers (and the panic recovery) have run. The line is at info level,
// except for a request that an aggregate audit event counts (an anonymous
// denial or a 429) and that is not the first of its aggregate: a flood of
// those would otherwise write a line each, about 300 bytes, where the
// first line, the aggregate's audit line and the metrics say it all. At
// debug level every request has its line.
func (h *handler) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	route, status := c.FullPath(), c.Writer.Status()
	h.obs.ObserveRequest(route, c.Request.Method, status, elapsed)
	level := slog.LevelInfo
	if quiet(c) {
		level = slog.LevelDebug
	}
	if !h.log.Enabled(c.Request.Context(), level) {
		return
	}
	if route == "" {
		route = metrics.Unmatched
	}
	var userID int64
	if u := principal(c.Request.Context()); u != nil {
		userID = u.ID
	}
	h.log.LogAttrs(context.Background(), level, "request",
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
		slog.Int64("user_id", userID),
		slog.String("request_id", requestID(c)),
		slog.String("client_ip", c.ClientIP()),
	)
}

// decide asks pol about sub doing action on res, and counts the decision.
// Every policy decision of the API goes through here.
func (h *handler) decide(pol *authz.Policy, sub models.Subject, res models.Resource, action string) (models.Decision, error) {
	d, err := pol.Decide(sub, res, action)
	h.obs.ObserveDecision(res.Type, action, d.Allowed, err)
	return d, err
}

// observeLogin counts a login by its outcome.
func (h *handler) observeLogin(err error) {
	result := metrics.LoginSuccess
	switch models.ErrorCode(err) {
	case "":
	case models.ETHROTTLED:
		result = metrics.LoginThrottled
	case models.EUNAUTHORIZED, models.EINVALID:
		result = metrics.LoginFailure
	default:
		result = metrics.LoginError
	}
	h.obs.ObserveLogin(result)
}

// observeRefresh counts a refresh by its outcome; a spent token presented
// again is counted as reuse.
func (h *handler) observeRefresh(err error) {
	switch {
	case err == nil:
		h.obs.ObserveRefresh(metrics.RefreshSuccess)
	case errors.Is(err, models.ErrRefreshReused):
		h.obs.ObserveRefresh(metrics.RefreshReuse)
	default:
		h.obs.ObserveRefresh(metrics.RefreshFailure)
	}
}
