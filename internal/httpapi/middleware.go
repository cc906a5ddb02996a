package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// recoverPanics turns a panic in the handlers after it into an internal
// error, which its adapter logs and writes as a 500 with a JSON body,
// instead of a dropped connection. A panic after the response started
// can only be logged.
func (h *handler) recoverPanics(c *gin.Context) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		err = models.Internal(fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		if c.Writer.Written() {
			h.log.Error("panic after response started", "err", err)
			c.Abort()
			err = nil
		}
	}()
	c.Next()
	return nil
}

// headers sets the headers every response carries, errors included.
func (h *handler) headers(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Policy-Version", h.policies.Current().Version())
	c.Next()
}

// methodNotAllowed answers a method that no route of the path has.
func methodNotAllowed(c *gin.Context) error {
	return &models.Error{Code: eMethodNotAllowed, Message: fmt.Sprintf("Method %q not allowed.", c.Request.Method)}
}

// notFound answers a path that no route has.
func notFound(*gin.Context) error { return errNotFound }

type principalKey struct{}

// principal returns the authenticated user of a request, or nil.
func principal(ctx context.Context) *models.User {
	u, _ := ctx.Value(principalKey{}).(*models.User)
	return u
}

// MaxAuthorizationBytes is the longest Authorization header read; longer
// ones are refused before any parsing.
const MaxAuthorizationBytes = 8 << 10

var (
	errNotAuthenticated = &models.Error{Code: models.EUNAUTHORIZED, Reason: "not_authenticated", Message: "Authentication credentials were not provided."}
	errBadHeader        = &models.Error{Code: models.EUNAUTHORIZED, Reason: "bad_authorization_header", Message: "Authorization header must contain two space-delimited values"}
)

// authenticate returns the user of the request's Bearer token, nil when
// there is no Bearer token, or an error for a bad one.
func (h *handler) authenticate(c *gin.Context) (*models.User, error) {
	header := c.GetHeader("Authorization")
	if header == "" {
		return nil, nil
	}
	if len(header) > MaxAuthorizationBytes {
		return nil, errBadHeader
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, nil
	}
	if token == "" || strings.Contains(token, " ") {
		return nil, errBadHeader
	}
	return h.auth.Authenticate(c.Request.Context(), token)
}

// requireUser refuses requests without a valid access token, and puts the
// user in the request context.
func (h *handler) requireUser(c *gin.Context) error {
	u, err := h.authenticate(c)
	if err != nil {
		return err
	}
	if u == nil {
		return errNotAuthenticated
	}
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, u))
	return nil
}

// optionalUser is requireUser for routes that anonymous callers may use;
// a bad token is still refused.
func (h *handler) optionalUser(c *gin.Context) error {
	u, err := h.authenticate(c)
	if err != nil {
		return err
	}
	if u != nil {
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, u))
	}
	return nil
}

// subject is who the request is from, for the policy.
func subject(u *models.User) models.Subject {
	if u == nil {
		return models.Subject{Role: models.AnonymousRole}
	}
	return models.Subject{ID: u.ID, Role: u.Role, Groups: u.Groups}
}

// authorize asks pol whether the caller may do action on res, and marks
// the response with the deciding policy's version. A deny is recorded in
// the audit trail and returned as a *deniedError; a failure to decide is
// EUNAVAILABLE, never an allow. The decision names the rule that allowed,
// for the audit events of the change that follows; it never goes to the
// client.
func (h *handler) authorize(c *gin.Context, pol *authz.Policy, res models.Resource, action string) (models.Decision, error) {
	d, err := h.decide(pol, subject(principal(c.Request.Context())), res, action)
	c.Header("X-Policy-Version", d.PolicyVersion)
	if err != nil {
		return d, err
	}
	if !d.Allowed {
		h.recordDeny(c, d, res, action)
		return d, &deniedError{resource: res.Type, action: action, version: d.PolicyVersion}
	}
	return d, nil
}

// RequestIDHeader carries a request's id, from the client or made up, and
// is echoed in every response.
const RequestIDHeader = "X-Request-ID"

// maxRequestID is the longest client-chosen request id kept.
const maxRequestID = 128

// requestIDKey is the gin context key of the request id. The id lives on
// the gin context rather than the request context, which carries only the
// principal: it is HTTP metadata that only this package reads, when it
// builds audit events, and the typed key and the requestID accessor keep
// the lookup checked.
type requestIDKey struct{}

// assignRequestID gives the request an id that ties its audit events and
// logs to the client's own records: the client's X-Request-ID when it is
// a sane token, else a new random one. The response echoes it.
func (h *handler) assignRequestID(c *gin.Context) {
	id := c.GetHeader(RequestIDHeader)
	if !validRequestID(id) {
		id = rand.Text()
	}
	c.Set(requestIDKey{}, id)
	c.Header(RequestIDHeader, id)
	c.Next()
}

// validRequestID accepts 1 to 128 of [A-Za-z0-9._-]: nothing that could
// forge a log line or smuggle markup into a reader of the audit trail.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// requestID returns the id assignRequestID gave the request.
func requestID(c *gin.Context) string {
	v, _ := c.Get(requestIDKey{})
	id, _ := v.(string)
	return id
}
