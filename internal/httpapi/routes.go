// Package httpapi is rolegate's HTTP API, on Gin. Every route is listed in
// newEngine; every error is written by writeError.
//
// A handler is a handlerFunc: it binds and validates the request, asks the
// policy, calls one dependency and responds, returning early with the
// first error it meets. The route registers it through handle, which
// hands that error to writeError; no handler writes an error itself.
// Middleware that can refuse a request (requireUser) is written the same
// way.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/apidoc"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/console"
	"github.com/rolegate/rolegate/models"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// UserStore is what the API needs from storage.
type UserStore interface {
	// CreateUser returns EINVALID if the username is taken.
	CreateUser(ctx context.Context, u *models.User) (*models.User, error)
	// UserByID returns ENOTFOUND if there is no such user.
	UserByID(ctx context.Context, id int64) (*models.User, error)
	// CurrentUser is UserByID with the user's groups, as the
	// authentication path reads a user: from the store's user cache, which
	// every write to the user (on any replica) invalidates. Returns
	// ENOTFOUND if there is no such user.
	CurrentUser(ctx context.Context, id int64) (*models.User, error)
	ListUsers(ctx context.Context, f models.UserFilter) ([]*models.User, error)
	// UpdateUser applies patch after check has approved it against the
	// user's row as locked by the write, and returns the user before and
	// after. Returns ENOTFOUND, EINVALID for a taken username, ECONFLICT
	// when it would remove the last active administrator, or check's
	// error as it is.
	UpdateUser(ctx context.Context, id int64, patch models.UserPatch, guard models.AdminGuard, check models.UserCheck) (models.UserChange, error)
	// DeleteUser returns ENOTFOUND, or ECONFLICT for the last active
	// administrator.
	DeleteUser(ctx context.Context, id int64, guard models.AdminGuard) error
	// Ping returns EUNAVAILABLE when the database does not answer.
	Ping(ctx context.Context) error
}

// GroupStore keeps who is in which group; the policy says what each group
// may do.
type GroupStore interface {
	// AddUserToGroup adds a user to a group as added by user by, and
	// reports whether the membership is new. Returns ENOTFOUND if there is
	// no such user.
	AddUserToGroup(ctx context.Context, userID int64, group string, by int64) (models.GroupMember, bool, error)
	// RemoveUserFromGroup returns ENOTFOUND if the user is not in the group.
	RemoveUserFromGroup(ctx context.Context, userID int64, group string) error
	// GroupMembers returns a page of a group's members by user id.
	GroupMembers(ctx context.Context, f models.GroupMemberFilter) ([]models.GroupMember, error)
}

// StandingStore reads a tenant and a user's standing in it, for the
// decision API.
type StandingStore interface {
	// TenantAccess returns the tenant a slug or id names, without its
	// settings, and the user's active role and break-glass mode in it (""
	// for none), from the user cache when it can; ENOTFOUND if no tenant
	// matches.
	TenantAccess(ctx context.Context, ref string, userID int64) (*models.Tenant, models.TenantContext, error)
	// TenantStanding reads the user's standing in the tenant now.
	TenantStanding(ctx context.Context, tenantID, userID int64) (models.TenantContext, error)
}

// BreakGlassStore keeps break-glass grants.
type BreakGlassStore interface {
	// StartBreakGlass returns the new grant and the ones it replaced, or
	// ENOTFOUND if the tenant or user is gone.
	StartBreakGlass(ctx context.Context, tenantID, userID int64, req models.BreakGlassRequest) (*models.BreakGlassGrant, []*models.BreakGlassGrant, error)
	// EndBreakGlass returns ENOTFOUND if the user holds no active grant.
	EndBreakGlass(ctx context.Context, tenantID, userID, by int64) (*models.BreakGlassGrant, error)
}

// Authenticator is what the API needs from the auth service. Methods that
// hash a password take the caller's client address, by which the hashing
// slots are shared.
type Authenticator interface {
	// Login returns auth.ErrBadCredentials for any failed login.
	Login(ctx context.Context, username, password, client string) (*models.User, auth.Pair, error)
	// Refresh returns EUNAUTHORIZED for a bad, spent or revoked token.
	Refresh(ctx context.Context, refresh string) (auth.Pair, error)
	Logout(ctx context.Context, refresh string) error
	// Authenticate returns EUNAUTHORIZED unless the access token is valid
	// and its user active.
	Authenticate(ctx context.Context, access string) (*models.User, error)
	// ChangePassword returns auth.ErrWrongOldPassword for a wrong old
	// password, EINVALID for a bad new one, and ECONFLICT when the
	// password changed since u was read.
	ChangePassword(ctx context.Context, u *models.User, oldPassword, newPassword, client string) (auth.Pair, error)
	// SetPassword returns EINVALID for a bad new password.
	SetPassword(ctx context.Context, u *models.User, newPassword string, guard models.AdminGuard, client string) (*models.User, error)
	// ValidatePassword checks a password for u, the account as it is or
	// as it will be once created, and returns EINVALID naming field with
	// every problem, or nil.
	ValidatePassword(field, password string, u *models.User) error
	HashPassword(ctx context.Context, who auth.Requester, password string) (string, error)
	JWKS() any
}

// Policies gives the policy in force and reloads it.
type Policies interface {
	Current() *authz.Policy
	// Reload loads, validates and tests the policy and puts it in force;
	// on failure the old one stays and the result lists the errors.
	Reload(ctx context.Context, trigger string) authz.ReloadResult
	Last() authz.ReloadResult
	Origin() authz.Origin
}

// AuditLog takes the API's audit events: denials, changes to users,
// logins, refresh-token reuse and policy reloads.
type AuditLog interface {
	// Record must not block: it is called on the request path.
	Record(ctx context.Context, e models.AuditEvent)
	// Aggregate counts e as one more occurrence of the events like it,
	// for events that come in floods: one event per kind and window, with
	// a count, and past a cap on kinds, one per route. It reports whether
	// e is the first of its kind in the window. It must not block.
	Aggregate(ctx context.Context, e models.AuditEvent, route string) (first bool)
}

// AuditEvents reads the audit trail back.
type AuditEvents interface {
	// ListAuditEvents returns up to f.Limit events, newest first, or
	// EUNAVAILABLE.
	ListAuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, error)
}

// Deps are the API's dependencies.
type Deps struct {
	Users  UserStore
	Groups GroupStore
	// Standings serves tenant questions of the decision API.
	Standings StandingStore
	// BreakGlass serves /v1/tenants/{slug}/access.
	BreakGlass BreakGlassStore
	Auth       Authenticator
	Policies   Policies
	// Audit records events; nil records nothing.
	Audit AuditLog
	// AuditEvents serves GET /v1/audit; nil serves an empty trail.
	AuditEvents AuditEvents
	// DefaultRole is the role of users who sign up without asking for one.
	DefaultRole string
	Log         *slog.Logger
	// Draining reports that the server is shutting down, which /readyz
	// then says; nil means never.
	Draining func() bool
	// Metrics counts traffic and decisions; nil counts nothing.
	Metrics Observer
	// Throttle limits logins, signups and username changes; nil limits
	// nothing.
	Throttle Throttle
	// TrustedProxies are the addresses and CIDRs of proxies whose
	// X-Forwarded-For names the client; empty trusts no proxy.
	TrustedProxies []string
	// PublicURL is the API's address as clients reach it: list pages'
	// next links are built on it, or relative when it is empty. Never
	// from the request's Host header, which the client writes.
	PublicURL string
	// CORSOrigins are the exact origins allowed cross-origin requests;
	// empty turns CORS off.
	CORSOrigins []string
	// Tenants serves the tenant routes, which fail without it.
	Tenants TenantStore
	// InvitationTTL is how long an invitation to a tenant can be accepted.
	InvitationTTL time.Duration
	// TenantCreatorRole is the tenant role a tenant's creator gets.
	TenantCreatorRole string
	// Console serves the staff console under /console/ (internal/console);
	// nil serves none. It gets the client address as the trusted-proxy
	// rules above determine it.
	Console http.Handler
}

// Throttle limits brute force. Check methods return ETHROTTLED while the
// client must wait, and EUNAVAILABLE when they cannot tell (the request
// must then fail).
type Throttle interface {
	CheckLogin(ctx context.Context, username, ip string) error
	// CheckPasswordChange checks the failure counters CheckLogin checks;
	// LoginFailed counts a wrong old password too.
	CheckPasswordChange(ctx context.Context, username, ip string) error
	LoginFailed(ctx context.Context, username, ip string) error
	LoginSucceeded(ctx context.Context, username string) error
	CheckSignup(ctx context.Context, ip string) error
	SignupAttempted(ctx context.Context, ip string) error
	CheckRename(ctx context.Context, userID int64, ip string) error
	RenameAttempted(ctx context.Context, userID int64, ip string) error
}

type handler struct {
	users       UserStore
	groups      GroupStore
	standings   StandingStore
	breakGlass  BreakGlassStore
	auth        Authenticator
	policies    Policies
	audit       AuditLog
	auditEvents AuditEvents
	defaultRole string
	log         *slog.Logger
	draining    func() bool
	obs         Observer
	throttle    Throttle
	cors        map[string]bool
	publicURL   string
	spec        []byte // the OpenAPI document as JSON
	specErr     error

	tenants           TenantStore
	invitationTTL     time.Duration
	tenantCreatorRole string
}

// NewHandler returns the whole API. Each path answers with and without
// its trailing slash, and each GET route answers HEAD too; the seed's
// routes and the /v1 routes share handlers.
func NewHandler(d Deps) http.Handler { return newEngine(d) }

// newEngine builds the API; the tests read its route list.
func newEngine(d Deps) *gin.Engine {
	h := &handler{
		users: d.Users, groups: d.Groups, standings: d.Standings, breakGlass: d.BreakGlass, auth: d.Auth, policies: d.Policies, audit: d.Audit, auditEvents: d.AuditEvents,
		defaultRole: d.DefaultRole, log: d.Log, obs: d.Metrics, draining: d.Draining,
		throttle: d.Throttle, cors: originSet(d.CORSOrigins), publicURL: strings.TrimSuffix(d.PublicURL, "/"),
		tenants: d.Tenants, invitationTTL: d.InvitationTTL, tenantCreatorRole: d.TenantCreatorRole,
	}
	if h.draining == nil {
		h.draining = func() bool { return false }
	}
	if h.throttle == nil {
		h.throttle = noThrottle{}
	}
	if h.obs == nil {
		h.obs = noObserver{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.audit == nil {
		h.audit = noAudit{}
	}
	if h.auditEvents == nil {
		h.auditEvents = noAudit{}
	}
	if h.spec, h.specErr = apidoc.JSON(); h.specErr != nil {
		h.log.Error("the OpenAPI document does not convert; /openapi.json will fail", "err", h.specErr)
	}
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	h.trustProxies(r, d.TrustedProxies)
	r.Use(h.assignRequestID, h.observe, h.auditThrottled, h.handle(h.recoverPanics), h.headers, h.allowCORS)
	r.NoRoute(h.handle(notFound))
	r.NoMethod(h.handle(methodNotAllowed))

	// exact registers one path as written. A GET route also answers HEAD
	// (load balancers probe with it): the same handlers run, and net/http
	// sends their status and headers without the body.
	exact := func(method, path string, hs ...handlerFunc) {
		chain := make([]gin.HandlerFunc, len(hs))
		for i, fn := range hs {
			chain[i] = h.handle(fn)
		}
		r.Handle(method, path, chain...)
		if method == http.MethodGet {
			r.Handle(http.MethodHead, path, chain...)
		}
	}
	route := func(method string, paths []string, hs ...handlerFunc) {
		for _, p := range paths {
			exact(method, p, hs...)
			exact(method, toggleSlash(p), hs...)
		}
	}
	user := h.requireUser

	exact(http.MethodGet, "/healthz", h.healthz)
	exact(http.MethodGet, "/readyz", h.readyz)
	exact(http.MethodGet, "/.well-known/jwks.json", h.jwks)

	route(http.MethodPost, []string{"/signup/", "/v1/auth/signup"}, h.optionalUser, h.signup)
	route(http.MethodPost, []string{"/login/", "/v1/auth/login"}, h.login)
	route(http.MethodPost, []string{"/token/refresh/", "/v1/auth/refresh"}, h.refresh)
	route(http.MethodPost, []string{"/logout/", "/v1/auth/logout"}, h.logout)

	route(http.MethodGet, []string{"/admin-area/"}, user, h.area(models.ResourceAdminArea, "Admin"))
	route(http.MethodGet, []string{"/staff-area/"}, user, h.area(models.ResourceStaffArea, "Staff"))
	route(http.MethodGet, []string{"/user-area/"}, user, h.area(models.ResourceUserArea, "User"))

	me := []string{"/me/", "/v1/me"}
	route(http.MethodGet, me, user, h.getMe)
	route(http.MethodPut, me, user, h.updateMe)
	route(http.MethodPatch, me, user, h.updateMe)
	route(http.MethodPost, []string{"/v1/me/password"}, user, h.changePassword)

	route(http.MethodGet, []string{"/admin/users/", "/staff/users/", "/v1/users"}, user, h.listUsers)
	route(http.MethodPost, []string{"/admin/users/", "/v1/users"}, user, h.createUser)
	one := []string{"/admin/users/:id/", "/v1/users/:id"}
	route(http.MethodGet, one, user, h.getUser)
	route(http.MethodPut, one, user, h.updateUser)
	route(http.MethodPatch, one, user, h.updateUser)
	route(http.MethodDelete, one, user, h.deleteUser)
	route(http.MethodPost, []string{"/v1/users/:id/password"}, user, h.resetPassword)

	route(http.MethodGet, []string{"/v1/policy"}, user, h.getPolicy)
	route(http.MethodPost, []string{"/v1/policy/reload"}, user, h.reloadPolicy)

	route(http.MethodPost, []string{"/v1/authz/check"}, user, h.check)
	route(http.MethodPost, []string{"/v1/authz/check/batch"}, user, h.checkBatch)
	route(http.MethodGet, []string{"/v1/authz/forward"}, h.forward)
	r.Any(EnvoyPath+"/*path", h.handle(h.forward))
	route(http.MethodGet, []string{"/v1/audit"}, user, h.listAudit)

	route(http.MethodPost, []string{"/v1/tenants"}, user, h.createTenant)
	route(http.MethodGet, []string{"/v1/tenants"}, user, h.listTenants)
	tenant := []string{"/v1/tenants/:tenant"}
	route(http.MethodGet, tenant, user, h.getTenant)
	route(http.MethodPatch, tenant, user, h.updateTenant)
	route(http.MethodDelete, tenant, user, h.deleteTenant)
	route(http.MethodGet, []string{"/v1/tenants/:tenant/audit"}, user, h.tenantAudit)
	route(http.MethodGet, []string{"/v1/tenants/:tenant/members"}, user, h.listMembers)
	member := []string{"/v1/tenants/:tenant/members/:user_id"}
	route(http.MethodPut, member, user, h.putMember)
	route(http.MethodDelete, member, user, h.deleteMember)
	route(http.MethodPost, []string{"/v1/tenants/:tenant/invitations"}, user, h.createInvitation)
	route(http.MethodGet, []string{"/v1/tenants/:tenant/invitations"}, user, h.listInvitations)
	route(http.MethodDelete, []string{"/v1/tenants/:tenant/invitations/:id"}, user, h.revokeInvitation)
	route(http.MethodPost, []string{"/v1/invitations/accept"}, user, h.acceptInvitation)

	route(http.MethodGet, []string{"/v1/groups"}, user, h.listGroups)
	route(http.MethodGet, []string{"/v1/groups/:name/members"}, user, h.listGroupMembers)
	groupMember := []string{"/v1/groups/:name/members/:user_id"}
	route(http.MethodPut, groupMember, user, h.putGroupMember)
	route(http.MethodDelete, groupMember, user, h.deleteGroupMember)

	access := []string{"/v1/tenants/:tenant/access"}
	route(http.MethodPost, access, user, h.startBreakGlass)
	route(http.MethodDelete, access, user, h.endBreakGlass)
	if d.Console != nil {
		r.Any("/console/*path", func(c *gin.Context) { d.Console.ServeHTTP(c.Writer, console.WithClient(c.Request, c.ClientIP())) })
	}

	exact(http.MethodGet, "/openapi.json", h.openAPI)
	route(http.MethodGet, []string{"/docs"}, h.docsPage)
	exact(http.MethodGet, "/docs/assets/:file", h.docsAsset)
	return r
}

func toggleSlash(p string) string {
	if strings.HasSuffix(p, "/") {
		return strings.TrimSuffix(p, "/")
	}
	return p + "/"
}
