package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/models"
)

// statusOf maps each error code to its one HTTP status.
var statusOf = map[string]int{
	models.EINVALID:      http.StatusBadRequest,
	models.EUNAUTHORIZED: http.StatusUnauthorized,
	models.EFORBIDDEN:    http.StatusForbidden,
	models.ENOTFOUND:     http.StatusNotFound,
	models.ECONFLICT:     http.StatusConflict,
	models.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	models.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	models.ETHROTTLED:    http.StatusTooManyRequests,
	models.EUNAVAILABLE:  http.StatusServiceUnavailable,
	models.EINTERNAL:     http.StatusInternalServerError,
}

// defaultReason is the "code" member of an error body when the error does
// not carry a more specific reason. The names follow DRF's.
var defaultReason = map[string]string{
	models.EINVALID:      "invalid",
	models.EUNAUTHORIZED: "not_authenticated",
	models.EFORBIDDEN:    "permission_denied",
	models.ENOTFOUND:     "not_found",
	models.ECONFLICT:     "conflict",
	models.ETOOLARGE:     "request_too_large",
	models.EUNSUPPORTED:  "unsupported_media_type",
	models.ETHROTTLED:    "throttled",
	models.EUNAVAILABLE:  "service_unavailable",
	models.EINTERNAL:     "internal_error",
}

// deniedError is a policy deny. Its body names the resource, the action and
// the policy version, but never the rules.
type deniedError struct {
	resource, action, version string
}

func (e *deniedError) Error() string {
	return "permission denied: " + e.resource + " " + e.action
}

const deniedMessage = "You do not have permission to perform this action."

// writeError is the one place errors become responses. Internal and
// unavailable errors are logged with their cause; the client sees only a
// generic message.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	var denied *deniedError
	if errors.As(err, &denied) {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{
			"detail": deniedMessage, "code": "permission_denied",
			"resource": denied.resource, "action": denied.action, "policy_version": denied.version,
		})
		return
	}
	e := models.AsError(err)
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if e.Code == models.EINTERNAL || e.Code == models.EUNAVAILABLE || !ok {
		log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "route", c.FullPath(), "status", status, "err", err)
	}
	switch status {
	case http.StatusUnauthorized:
		c.Header("WWW-Authenticate", `Bearer realm="api"`)
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "1")
	case http.StatusTooManyRequests:
		c.Header("Retry-After", retryAfter(e.RetryAfter))
	}
	if len(e.Fields) > 0 {
		c.AbortWithStatusJSON(status, e.Fields)
		return
	}
	reason := e.Reason
	if reason == "" {
		reason = defaultReason[e.Code]
	}
	c.AbortWithStatusJSON(status, gin.H{"detail": e.Message, "code": reason})
}

// retryAfter is d in whole seconds, rounded up and at least 1, for the
// Retry-After header: a client that waits that long is not refused again
// by the same block.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// fieldErrors collects per-field validation messages.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, msg string) {
	if msg != "" {
		f[field] = append(f[field], msg)
	}
}

// addAll adds the field problems of err to f, so that one response lists
// every problem. Any other error is returned.
func (f fieldErrors) addAll(err error) error {
	var e *models.Error
	if err == nil {
		return nil
	}
	if !errors.As(err, &e) || e.Code != models.EINVALID || len(e.Fields) == 0 {
		return err
	}
	for name, msgs := range e.Fields {
		f[name] = append(f[name], msgs...)
	}
	return nil
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &models.Error{Code: models.EINVALID, Message: "invalid input", Fields: f}
}

var errNotFound = models.Errorf(models.ENOTFOUND, "Not found.")
