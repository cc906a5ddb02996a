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

// Codes of errors that only HTTP has. Handlers return them as
// *models.Error like any other, so that writeError answers them too.
const (
	// eMethodNotAllowed is a method the path does not answer.
	eMethodNotAllowed = "method_not_allowed"
	// ePolicyInvalid is a policy reload refused: the new policy did not
	// load or failed its tests. Details carries its version and errors.
	ePolicyInvalid = "policy_invalid"
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
	eMethodNotAllowed:    http.StatusMethodNotAllowed,
	ePolicyInvalid:       http.StatusUnprocessableEntity,
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
	eMethodNotAllowed:    "method_not_allowed",
	ePolicyInvalid:       "policy_invalid",
}

// deniedError is a policy deny. The update handler reads it back to
// record the deny; clients see what it unwraps to.
type deniedError struct {
	resource, action, version string
}

func (e *deniedError) Error() string {
	return "permission denied: " + e.resource + " " + e.action
}

// Unwrap is the deny as clients see it: 403 naming the resource, the
// action and the policy version, but never the rules.
func (e *deniedError) Unwrap() error {
	return &models.Error{
		Code: models.EFORBIDDEN, Reason: "permission_denied", Message: deniedMessage,
		Details: map[string]any{"resource": e.resource, "action": e.action, "policy_version": e.version},
	}
}

const deniedMessage = "You do not have permission to perform this action."

// handlerFunc is how every handler of the API is written, and every
// middleware that can refuse a request: it responds and returns nil, or
// returns its error as soon as it has one and leaves the answer to
// writeError. Returning nil without responding passes the request on to
// the next handler of the route.
type handlerFunc func(c *gin.Context) error

// handle adapts fn to Gin. routes.go registers every route, and the
// answers to unknown paths and methods, through it.
func (h *handler) handle(fn handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			writeError(c, h.log, err)
		}
	}
}

// writeError is the one place errors become responses. Internal and
// unavailable errors are logged with their cause; the client sees only a
// generic message.
func writeError(c *gin.Context, log *slog.Logger, err error) {
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
	c.AbortWithStatusJSON(status, errorBody(e))
}

// errorBody is the body of an error without field errors: its message as
// "detail", its reason as "code", and its details.
func errorBody(e *models.Error) gin.H {
	body := make(gin.H, 2+len(e.Details))
	for name, v := range e.Details {
		body[name] = v
	}
	body["detail"] = e.Message
	body["code"] = e.Reason
	if e.Reason == "" {
		body["code"] = defaultReason[e.Code]
	}
	return body
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

// merge adds fields, the per-field messages of a validation (see
// models.FieldsOf), to f, so that one response lists every problem.
func (f fieldErrors) merge(fields map[string][]string) {
	for name, msgs := range fields {
		f[name] = append(f[name], msgs...)
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
	f.merge(e.Fields)
	return nil
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &models.Error{Code: models.EINVALID, Message: "invalid input", Fields: f}
}

var errNotFound = models.Errorf(models.ENOTFOUND, "Not found.")
