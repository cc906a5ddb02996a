// Package console is rolegate's staff console: server-rendered pages under
// /console/ for the people the policy lets in (console, access), in the
// spirit of Django's admin. Its pages call the same store, auth service and
// policy as the JSON API, never the API over HTTP, and every page and every
// button is a policy decision; every POST is decided again.
//
// A console session is a cookie naming a server-side session (only its
// SHA-256 is stored), with an idle and an absolute timeout. State-changing
// requests carry a CSRF token made from the session's own secret, and pass
// Go's http.CrossOriginProtection. The console never reads an
// Authorization header, and the JSON API never reads the console's cookie.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// UserStore is what the console needs from the users table.
type UserStore interface {
	// UserByID returns ENOTFOUND if there is no such user.
	UserByID(ctx context.Context, id int64) (*models.User, error)
	// CurrentUser is UserByID with the user's groups, as the API's
	// authentication reads its caller: through the user cache, which
	// every change to the user or their groups invalidates. Returns
	// ENOTFOUND if there is no such user.
	CurrentUser(ctx context.Context, id int64) (*models.User, error)
	// UserByUsername returns ENOTFOUND if no user has that username.
	UserByUsername(ctx context.Context, username string) (*models.User, error)
	QueryUsers(ctx context.Context, q models.UserQuery) ([]*models.User, error)
	// CountUsers counts up to atMost users, and returns atMost+1 when
	// there are more.
	CountUsers(ctx context.Context, q models.UserQuery, atMost int64) (int64, error)
	CountUsersByRole(ctx context.Context) (models.UserCounts, error)
	// UpdateUser: see httpapi.UserStore.
	UpdateUser(ctx context.Context, id int64, patch models.UserPatch, guard models.AdminGuard, check models.UserCheck) (models.UserChange, error)
	// DeleteUser returns ENOTFOUND, or ECONFLICT for the last active
	// administrator.
	DeleteUser(ctx context.Context, id int64, guard models.AdminGuard) error
}

// GroupStore is what the console needs from the group memberships: the
// API's own store calls.
type GroupStore interface {
	// GroupCounts lists the groups that have members, with how many.
	GroupCounts(ctx context.Context) ([]models.GroupCount, error)
	// GroupMembers returns EINVALID for a limit below 1.
	GroupMembers(ctx context.Context, f models.GroupMemberFilter) ([]models.GroupMember, error)
	// AddUserToGroup returns ENOTFOUND if there is no such user, and
	// whether the membership is new.
	AddUserToGroup(ctx context.Context, userID int64, group string, by int64) (models.GroupMember, bool, error)
	// RemoveUserFromGroup returns ENOTFOUND if the user is not in it.
	RemoveUserFromGroup(ctx context.Context, userID int64, group string) error
	UserGroups(ctx context.Context, userID int64) ([]string, error)
}

// UserTenants is what the users pages and the dashboard need from the
// tenants: a tenant by slug or id for the list's filter, a user's
// memberships, and the counts.
type UserTenants interface {
	// TenantByRef returns ENOTFOUND if no tenant has that slug or id.
	TenantByRef(ctx context.Context, ref string) (*models.Tenant, error)
	ListTenantsOf(ctx context.Context, userID int64, f models.TenantFilter) ([]models.MemberTenant, error)
	CountTenants(ctx context.Context) (models.TenantCounts, error)
}

// Replicas are the servers' reports of the policy version each serves,
// in database mode.
type Replicas interface {
	// Replicas returns up to limit replicas seen since, newest first.
	Replicas(ctx context.Context, since time.Time, limit int) ([]models.Replica, error)
}

// SessionStore keeps console sessions, and ends a user's sessions of
// every kind.
type SessionStore interface {
	CreateConsoleSession(ctx context.Context, s models.ConsoleSession) error
	// ConsoleSession returns ENOTFOUND for an unknown id hash.
	ConsoleSession(ctx context.Context, idHash string) (models.ConsoleSession, error)
	TouchConsoleSession(ctx context.Context, idHash string, now time.Time) error
	RevokeConsoleSession(ctx context.Context, idHash string, now time.Time) error
	ActiveSessions(ctx context.Context, userID int64, now time.Time) (models.UserSessions, error)
	EndUserSessions(ctx context.Context, userID int64, now time.Time) (int64, error)
}

// Authenticator is what the console needs from the auth service: the API
// login itself, so that a console sign-in checks the password, rehashes,
// records the login and shares the hashing slots exactly as an API login.
type Authenticator interface {
	// Login returns auth.ErrBadCredentials for any failed login.
	Login(ctx context.Context, username, password, client string) (*models.User, auth.Pair, error)
	Logout(ctx context.Context, refresh string) error
	// SetPassword returns EINVALID for a bad new password.
	SetPassword(ctx context.Context, u *models.User, newPassword string, guard models.AdminGuard, client string) (*models.User, error)
}

// Policies gives the policy in force and reloads it.
type Policies interface {
	Current() *authz.Policy
	Reload(ctx context.Context, trigger string) authz.ReloadResult
	Last() authz.ReloadResult
	Origin() authz.Origin
}

// AuditLog records the console's events; Record must not block.
type AuditLog interface {
	Record(ctx context.Context, e models.AuditEvent)
}

// AuditEvents reads the audit trail back.
type AuditEvents interface {
	ListAuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, error)
}

// Throttle is the API's login throttle, shared so that the console is no
// way around it.
type Throttle interface {
	CheckLogin(ctx context.Context, username, ip string) error
	LoginFailed(ctx context.Context, username, ip string) error
	LoginSucceeded(ctx context.Context, username string) error
}

// ReloadTrigger is the trigger of a reload asked for in the console.
const ReloadTrigger = "console"

// Defaults of the session timeouts.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
)

// Deps are the console's dependencies.
type Deps struct {
	Users       UserStore
	Sessions    SessionStore
	Auth        Authenticator
	Policies    Policies
	Audit       AuditLog
	AuditEvents AuditEvents
	Throttle    Throttle
	Groups      GroupStore
	UserTenants UserTenants
	// Versions are the published policy versions, in database mode only;
	// nil hides versions and rollback.
	Versions PolicyVersions
	// Replicas are the replicas' reports, in database mode only; nil
	// hides them.
	Replicas Replicas
	// DefaultRole is ROLEGATE_DEFAULT_ROLE, which a rolled-back policy
	// must still define.
	DefaultRole string
	// Secure marks the cookie Secure and names it with the __Host- prefix:
	// production, behind HTTPS.
	Secure bool
	// IdleTimeout and MaxAge end a session after so long unused, and so
	// long after sign-in; zero takes the defaults.
	IdleTimeout, MaxAge time.Duration
	// Tenants are the tenants, their members and invitations; nil hides
	// the tenants section.
	Tenants TenantStore
	// PublicURL is ROLEGATE_PUBLIC_URL, the start of an invitation's
	// accept link; empty makes it relative, as the API's next links.
	PublicURL string
	// InvitationTTL is ROLEGATE_INVITATION_TTL.
	InvitationTTL time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Console serves /console/.
type Console struct {
	users       UserStore
	sessions    SessionStore
	auth        Authenticator
	policies    Policies
	audit       AuditLog
	auditEvents AuditEvents
	throttle    Throttle
	groups      GroupStore
	userTenants UserTenants
	versions    PolicyVersions
	tenants     TenantStore
	publicURL   string
	inviteTTL   time.Duration
	replicas    Replicas
	defaultRole string
	secure      bool
	idle, max   time.Duration
	now         func() time.Time
	log         *slog.Logger
	pages       pages
	handler     http.Handler
}

// New returns the console. It panics only if its own embedded templates
// do not parse, which the tests catch.
func New(d Deps) *Console {
	c := &Console{
		users: d.Users, sessions: d.Sessions, auth: d.Auth, policies: d.Policies, audit: d.Audit,
		auditEvents: d.AuditEvents, throttle: d.Throttle, groups: d.Groups, userTenants: d.UserTenants, versions: d.Versions, replicas: d.Replicas, defaultRole: d.DefaultRole, secure: d.Secure, idle: d.IdleTimeout, max: d.MaxAge,
		now: d.Now, log: d.Log, pages: mustParsePages(),
		tenants: d.Tenants, publicURL: strings.TrimSuffix(d.PublicURL, "/"), inviteTTL: d.InvitationTTL,
	}
	if c.idle <= 0 {
		c.idle = DefaultIdleTimeout
	}
	if c.max <= 0 {
		c.max = DefaultMaxAge
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.audit == nil {
		c.audit = noAudit{}
	}
	c.handler = c.routes()
	return c
}

type noAudit struct{}

func (noAudit) Record(context.Context, models.AuditEvent) {}

// ServeHTTP serves a console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// routes lists every console route. Pages that need a signed-in viewer
// with console access go through c.page; POSTs also through the CSRF
// check. The whole console is behind http.CrossOriginProtection.
func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	page := c.page
	mux.Handle("GET /console/static/{file}", http.HandlerFunc(c.static))
	mux.Handle("GET /console/login", http.HandlerFunc(c.loginForm))
	mux.Handle("POST /console/login", http.HandlerFunc(c.login))
	mux.Handle("POST /console/logout", c.sessionOnly(c.logout))
	mux.Handle("GET /console/{$}", page(c.dashboard))
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))

	mux.Handle("GET /console/users", page(c.userList))
	mux.Handle("GET /console/users/export.csv", page(c.userExport))
	mux.Handle("POST /console/users/bulk", page(c.bulkConfirm))
	mux.Handle("POST /console/users/bulk/apply", page(c.bulkApply))
	mux.Handle("GET /console/users/{id}", page(c.userDetail))
	mux.Handle("POST /console/users/{id}", page(c.userEdit))
	mux.Handle("POST /console/users/{id}/password", page(c.userResetPassword))
	mux.Handle("POST /console/users/{id}/sessions/end", page(c.userEndSessions))
	mux.Handle("GET /console/users/{id}/history", page(c.userHistory))

	mux.Handle("GET /console/tenants", page(c.tenantList))
	mux.Handle("GET /console/tenants/{slug}", page(c.tenantDetail))
	mux.Handle("POST /console/tenants/{slug}", page(c.tenantEdit))
	mux.Handle("GET /console/tenants/{slug}/history", page(c.tenantHistory))
	mux.Handle("POST /console/tenants/{slug}/members", page(c.memberAdd))
	mux.Handle("POST /console/tenants/{slug}/members/{id}", page(c.memberChange))
	mux.Handle("POST /console/tenants/{slug}/members/{id}/remove", page(c.memberRemove))
	mux.Handle("POST /console/tenants/{slug}/invitations", page(c.invitationCreate))
	mux.Handle("POST /console/tenants/{slug}/invitations/{id}/revoke", page(c.invitationRevoke))
	mux.Handle("GET /console/groups", page(c.groupList))
	mux.Handle("GET /console/groups/{name}", page(c.groupDetail))
	mux.Handle("POST /console/groups/{name}/members", page(c.groupAddMember))
	mux.Handle("POST /console/groups/{name}/members/{id}/remove", page(c.groupRemoveMember))

	mux.Handle("GET /console/policy", page(c.policyMatrix))
	mux.Handle("GET /console/policy/explain", page(c.policyExplain))
	mux.Handle("POST /console/policy/reload", page(c.policyReload))
	mux.Handle("POST /console/policy/rollback", page(c.policyRollback))

	mux.Handle("GET /console/audit", page(c.auditList))
	mux.Handle("GET /console/audit/export.csv", page(c.auditExport))
	mux.Handle("/console/", page(func(*request) error { return errNotFound }))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, errCrossOrigin)
	}))
	return c.headers(cop.Handler(mux))
}

// csp lets console pages load this server's scripts, styles and images,
// and nothing inline: htmx is configured (by a meta tag) not to inject its
// indicator styles.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// headers sets the console's security headers on every response.
func (c *Console) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Type", "text/html; charset=utf-8")
		next.ServeHTTP(w, r)
	})
}

type clientKey struct{}

// WithClient returns r carrying the client's address as the API's
// trusted-proxy rules determine it, which the login throttle and the
// hashing slots are keyed by.
func WithClient(r *http.Request, addr string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientKey{}, addr))
}

func clientOf(r *http.Request) string {
	if s, ok := r.Context().Value(clientKey{}).(string); ok {
		return s
	}
	return r.RemoteAddr
}
