package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// EnvoyPath is the decision endpoint for Envoy's ext_authz, which asks
// about a request by sending it with its own method and its path appended
// to this one (Envoy's path_prefix). nginx and Traefik send headers to
// GET /v1/authz/forward instead.
const EnvoyPath = "/v1/authz/envoy"

// originalRequest is the request a proxy asks about.
type originalRequest struct {
	method, uri string
}

// requestHeaders are the header pairs that carry the original request:
// nginx's (set in its auth_request location) and Traefik's forwardAuth.
var requestHeaders = [][2]string{
	{"X-Original-Method", "X-Original-URI"},
	{"X-Forwarded-Method", "X-Forwarded-Uri"},
}

var (
	errNoOriginalRequest = &models.Error{Code: models.EINVALID, Reason: "missing_original_request",
		Message: "Send the request to decide in X-Original-Method and X-Original-URI, or X-Forwarded-Method and X-Forwarded-Uri."}
	errAmbiguousRequest = &models.Error{Code: models.EFORBIDDEN, Reason: "ambiguous_original_request",
		Message: "The headers describe more than one request."}
	errBadMethod = &models.Error{Code: models.EFORBIDDEN, Reason: "invalid_method", Message: "The request method is not a valid HTTP method."}
)

// methodToken is an HTTP method as RFC 9110 allows it.
var methodToken = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}$")

// forward answers a reverse proxy that asks whether to let a request
// through. The route table maps the request to a resource, action and
// owner; the policy decides for the user of the Bearer token, or for an
// anonymous caller when there is no valid token. 200 carries X-User-Id and
// X-User-Role for the upstream; 401 asks the client to log in; 403 is no.
func (h *handler) forward(c *gin.Context) error {
	pol := h.policies.Current()
	c.Header("X-Policy-Version", pol.Version())
	req, err := readOriginalRequest(c)
	if err != nil {
		return err
	}
	target, err := pol.Route(req.method, req.uri)
	if err != nil {
		return err
	}
	u, authErr := h.authenticate(c)
	if authErr != nil && models.ErrorCode(authErr) != models.EUNAUTHORIZED {
		return authErr
	}
	if u != nil {
		// The token's user is this request's principal, for the audit trail.
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, u))
	}
	d, view, inactive, err := h.decideTarget(c, pol, subject(u), target)
	if err != nil {
		return err
	}
	if !d.Allowed {
		refusal := forwardDenial(u, authErr, target.Resource.Type, target.Action, d.PolicyVersion)
		if u == nil {
			h.aggregateAnonymousDeny(c, d, target.Resource, target.Action, reasonOf(refusal))
		} else {
			h.recordDeny(c, d, target.Resource, target.Action)
		}
		if inactive && u != nil {
			return errTenantInactive
		}
		return refusal
	}
	setUserHeaders(c, u)
	setTenantHeaders(c, view)
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

// decideTarget decides a routed request. On a route inside a tenant it is
// decided with the subject's standing in the tenant the path names: an
// unknown tenant or one the subject may not see is a deny, and inactive
// reports a yes that the tenant's inactivity refused. A yes through a
// break-glass grant is audited.
func (h *handler) decideTarget(c *gin.Context, pol *authz.Policy, sub models.Subject, target authz.Target) (models.Decision, tenantView, bool, error) {
	if target.Tenant == "" {
		d, err := h.decide(pol, sub, target.Resource, target.Action)
		return d, tenantView{}, false, err
	}
	view, err := h.viewTenant(c.Request.Context(), pol, sub, target.Tenant)
	if err != nil || !view.Visible {
		return models.Decision{PolicyVersion: pol.Version()}, tenantView{}, false, err
	}
	d, inactive, err := h.decideIn(view, target.Resource, target.Action)
	if err == nil && d.Via == models.ViaBreakGlass {
		h.recordBreakGlassDecision(c, view, d, target.Resource, target.Action)
	}
	return d, view, inactive, err
}

// setTenantHeaders tells the upstream which tenant an allowed request is
// in and the caller's role there, both empty outside tenants (and the
// role empty without a membership, as under break-glass), so that a proxy
// copying them replaces whatever the client sent under those names.
func setTenantHeaders(c *gin.Context, view tenantView) {
	id := ""
	if view.Tenant != nil {
		id = strconv.FormatInt(view.Tenant.ID, 10)
	}
	c.Writer.Header().Set("X-Tenant-Id", id)
	c.Writer.Header().Set("X-Tenant-Role", view.Role())
}

// forwardDenial is 403 for a user the policy refuses, and 401 for an
// anonymous caller, so that the proxy can send them to log in: with the
// reason their token was refused, if they sent one.
func forwardDenial(u *models.User, authErr error, resource, action, version string) error {
	switch {
	case u != nil:
		return &deniedError{resource: resource, action: action, version: version}
	case authErr != nil:
		return authErr
	}
	return errNotAuthenticated
}

// setUserHeaders tells the upstream who the caller is. Both headers are
// sent, empty for an anonymous caller, so that a proxy copying them
// replaces whatever the client sent under those names.
func setUserHeaders(c *gin.Context, u *models.User) {
	id, role := "", ""
	if u != nil {
		id, role = strconv.FormatInt(u.ID, 10), u.Role
	}
	c.Writer.Header().Set("X-User-Id", id)
	c.Writer.Header().Set("X-User-Role", role)
}

// readOriginalRequest finds the request a proxy asks about, in any of the
// forms proxies send. Proxies also pass the client's own headers on to
// rolegate, so a client can add a form its proxy does not set: every form
// present must describe the same request, and each header may appear once.
func readOriginalRequest(c *gin.Context) (originalRequest, error) {
	var found []originalRequest
	for _, pair := range requestHeaders {
		r, ok, err := headerRequest(c.Request.Header, pair[0], pair[1])
		if err != nil {
			return originalRequest{}, err
		}
		if ok {
			found = append(found, r)
		}
	}
	if r, ok, err := envoyRequest(c); err != nil {
		return originalRequest{}, err
	} else if ok {
		found = append(found, r)
	}
	if len(found) == 0 {
		return originalRequest{}, errNoOriginalRequest
	}
	for _, r := range found[1:] {
		if r != found[0] {
			return originalRequest{}, errAmbiguousRequest
		}
	}
	if !methodToken.MatchString(found[0].method) {
		return originalRequest{}, errBadMethod
	}
	return found[0], nil
}

// headerRequest reads one pair of method and URI headers. Half a pair, or
// a header sent twice, is ambiguous.
func headerRequest(hd http.Header, methodKey, uriKey string) (originalRequest, bool, error) {
	methods, uris := hd.Values(methodKey), hd.Values(uriKey)
	switch {
	case len(methods) == 0 && len(uris) == 0:
		return originalRequest{}, false, nil
	case len(methods) != 1 || len(uris) != 1:
		return originalRequest{}, false, errAmbiguousRequest
	}
	return originalRequest{method: methods[0], uri: uris[0]}, true, nil
}

// envoyRequest reads the request Envoy's ext_authz asks about on
// EnvoyPath: its own method, and its path after EnvoyPath, taken from the
// request line as sent so that no decoding hides a "..".
func envoyRequest(c *gin.Context) (originalRequest, bool, error) {
	if c.Param("path") == "" {
		return originalRequest{}, false, nil
	}
	uri, ok := strings.CutPrefix(c.Request.RequestURI, EnvoyPath)
	if !ok {
		return originalRequest{}, false, errAmbiguousRequest
	}
	return originalRequest{method: c.Request.Method, uri: uri}, true, nil
}
