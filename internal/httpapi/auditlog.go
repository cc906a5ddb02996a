package httpapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/models"
)

// record fills in where e came from (the caller, unless e names its own
// actor; the request id; the client address; the policy in force unless e
// names the deciding one) and hands it to the audit log.
func (h *handler) record(c *gin.Context, e models.AuditEvent) {
	h.fill(c, &e)
	h.audit.Record(c.Request.Context(), e)
}

// fill sets where e came from, for record and aggregate.
func (h *handler) fill(c *gin.Context, e *models.AuditEvent) {
	if e.ActorID == 0 && e.ActorRole == "" {
		sub := subject(principal(c.Request.Context()))
		e.ActorID, e.ActorRole = sub.ID, sub.Role
	}
	e.RequestID, e.ClientIP = requestID(c), c.ClientIP()
	if e.PolicyVersion == "" {
		e.PolicyVersion = h.policies.Current().Version()
	}
}

// recordAllowed records a change the policy allowed by decision d, with
// the rule that allowed it (and, see viaDetail, whether a break-glass
// grant did).
func (h *handler) recordAllowed(c *gin.Context, d models.Decision, action, target string, detail map[string]any) {
	h.record(c, models.AuditEvent{
		Action: action, Result: models.AuditSuccess, Target: target,
		Rule: ruleText(d), PolicyVersion: d.PolicyVersion, Detail: viaDetail(d, detail),
	})
}

// viaDetail is detail, with "via": "break_glass" added when only a
// break-glass grant allowed d: the tenant's owners can then tell a change
// made under one from their members' own.
func viaDetail(d models.Decision, detail map[string]any) map[string]any {
	if d.Via != models.ViaBreakGlass {
		return detail
	}
	detail = maps.Clone(detail)
	if detail == nil {
		detail = map[string]any{}
	}
	detail["via"] = d.Via
	return detail
}

// ruleText is the rule that allowed d, as audit events show it.
func ruleText(d models.Decision) string { return strings.Join(d.Rule, ", ") }

// recordDeny records a request the policy refused. No rule matched, so
// none is named; the detail says what was asked. A caller without a valid
// token is anyone, and may be a flood: see aggregateAnonymousDeny.
func (h *handler) recordDeny(c *gin.Context, d models.Decision, res models.Resource, action string) {
	if principal(c.Request.Context()) == nil {
		h.aggregateAnonymousDeny(c, d, res, action, defaultReason[models.EFORBIDDEN])
		return
	}
	detail := map[string]any{"resource": res.Type, "action": action}
	target := res.Type
	if res.OwnerID > 0 {
		detail["owner_id"] = res.OwnerID
		target += "/" + strconv.FormatInt(res.OwnerID, 10)
	}
	h.record(c, models.AuditEvent{
		Action: models.AuditDecisionDeny, Result: models.AuditDeny, Target: target,
		PolicyVersion: d.PolicyVersion, Detail: detail,
	})
}

// aggregateAnonymousDeny counts a denial of a caller without a valid
// token into the aggregate of its client address, route, resource, action
// and reason (what the client was told: not_authenticated,
// token_not_valid, permission_denied). The target is the resource type
// without an owner, so that a client cannot open a new aggregate per id.
func (h *handler) aggregateAnonymousDeny(c *gin.Context, d models.Decision, res models.Resource, action, reason string) {
	h.aggregate(c, models.AuditEvent{
		Action: models.AuditDecisionDeny, Result: models.AuditDeny, Target: res.Type, PolicyVersion: d.PolicyVersion,
		Detail: map[string]any{"resource": res.Type, "action": action, "reason": reason, "route": c.FullPath()},
	})
}

// auditThrottled counts every request the API refuses with 429, whatever
// refused it (the login, signup or any later limit), into the aggregate of
// its client address, caller and route. A throttled client retries, so
// these come in floods; one event per minute with a count says as much.
func (h *handler) auditThrottled(c *gin.Context) {
	c.Next()
	if c.Writer.Status() != http.StatusTooManyRequests {
		return
	}
	h.aggregate(c, models.AuditEvent{
		Action: models.AuditRequestThrottled, Result: models.AuditFailure, Target: c.FullPath(),
		Detail: map[string]any{"route": c.FullPath(), "method": c.Request.Method},
	})
}

// aggregate fills in e as record does and counts it. All but the first
// occurrence of each aggregate are marked quiet: observe writes their
// access-log line at debug level only.
func (h *handler) aggregate(c *gin.Context, e models.AuditEvent) {
	h.fill(c, &e)
	if !h.audit.Aggregate(c.Request.Context(), e, c.FullPath()) {
		c.Set(quietKey{}, true)
	}
}

// quietKey marks, on the gin context, a request whose access-log line
// goes at debug level: one of a flood that an aggregate audit event counts.
type quietKey struct{}

// quiet reports whether c is marked quiet.
func quiet(c *gin.Context) bool {
	q, _ := c.Get(quietKey{})
	return q == true
}

// recordLoginFailure records a refused login with the username tried,
// clipped so that a huge one cannot bloat the trail. The password is not
// recorded, even in part. A throttled login is not recorded here:
// auditThrottled counts it, as it counts every 429.
func (h *handler) recordLoginFailure(c *gin.Context, username string, err error) {
	if models.ErrorCode(err) == models.ETHROTTLED {
		return
	}
	h.record(c, models.AuditEvent{
		Action: models.AuditLoginFailure, Result: models.AuditFailure,
		Detail: map[string]any{"username": clip(username, account.MaxUsernameLength), "reason": reasonOf(err)},
	})
}

// reasonOf is the "code" member of the error body err is written as.
func reasonOf(err error) string {
	e := models.AsError(err)
	if e.Reason != "" {
		return e.Reason
	}
	return defaultReason[e.Code]
}

// recordPasswordChangeFailure records a refused change of u's own
// password that matters to security: a wrong old password, or a conflict
// with another change. A refusal by the throttle is recorded, aggregated,
// as request.throttled (see auditThrottled), and a new password the
// policy refuses is the caller's typo, not an event.
func (h *handler) recordPasswordChangeFailure(c *gin.Context, u *models.User, err error) {
	var reason string
	switch {
	case errors.Is(err, auth.ErrWrongOldPassword):
		reason = "wrong_old_password"
	case models.ErrorCode(err) == models.ECONFLICT:
		reason = defaultReason[models.ErrorCode(err)]
	default:
		return
	}
	h.record(c, models.AuditEvent{
		Action: models.AuditUserPasswordChange, Result: models.AuditFailure, Target: userTarget(u.ID),
		Detail: map[string]any{"reason": reason},
	})
}

// recordLogin records a successful login by u.
func (h *handler) recordLogin(c *gin.Context, u *models.User) {
	h.record(c, models.AuditEvent{
		Action: models.AuditLoginSuccess, Result: models.AuditSuccess, Target: userTarget(u.ID),
		ActorID: u.ID, ActorRole: u.Role,
	})
}

// recordRefreshReuse records a spent refresh token presented again, if
// err says so. The actor is the token's user, as far as the token tells;
// whoever presented it may have stolen it, so no role is claimed.
func (h *handler) recordRefreshReuse(c *gin.Context, err error) {
	if !errors.Is(err, models.ErrRefreshReused) {
		return
	}
	e := models.AuditEvent{Action: models.AuditRefreshReuse, Result: models.AuditFailure, Detail: map[string]any{"session_revoked": true}}
	var reuse *models.RefreshReusedError
	if errors.As(err, &reuse) {
		e.ActorID, e.Target = reuse.UserID, userTarget(reuse.UserID)
	}
	h.record(c, e)
}

// recordUpdate records what an update changed: the names of changed
// profile fields, allowed by upd, and a role or active-flag change with
// its old and new values, allowed by assign.
func (h *handler) recordUpdate(c *gin.Context, upd, assign models.Decision, before, after *models.User) {
	target := userTarget(after.ID)
	if fields := profileChanges(before, after); len(fields) > 0 {
		h.recordAllowed(c, upd, models.AuditUserUpdate, target, map[string]any{"fields": fields})
	}
	if access := accessChanges(before, after); len(access) > 0 {
		h.recordAllowed(c, assign, models.AuditUserRoleChange, target, access)
	}
}

// profileChanges names the profile fields that differ, by their JSON
// names; their values stay out of the trail.
func profileChanges(before, after *models.User) []string {
	var fields []string
	for _, f := range []struct {
		name          string
		before, after string
	}{
		{"username", before.Username, after.Username},
		{"email", before.Email, after.Email},
		{"first_name", before.FirstName, after.FirstName},
		{"last_name", before.LastName, after.LastName},
	} {
		if f.before != f.after {
			fields = append(fields, f.name)
		}
	}
	return fields
}

// accessChanges gives the old and new role and active flag, where they
// differ.
func accessChanges(before, after *models.User) map[string]any {
	out := map[string]any{}
	if before.Role != after.Role {
		out["role"] = map[string]any{"from": before.Role, "to": after.Role}
	}
	if before.IsActive != after.IsActive {
		out["is_active"] = map[string]any{"from": before.IsActive, "to": after.IsActive}
	}
	return out
}

// userTarget names a user as an audit target.
func userTarget(id int64) string { return models.ResourceUsers + "/" + strconv.FormatInt(id, 10) }

// clip shortens s to at most n characters.
func clip(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// noAudit is the audit trail of an API built without one: it records
// nothing and lists nothing.
type noAudit struct{}

func (noAudit) Record(context.Context, models.AuditEvent) {}

func (noAudit) Aggregate(context.Context, models.AuditEvent, string) bool { return true }

func (noAudit) ListAuditEvents(context.Context, models.AuditFilter) ([]models.AuditEvent, error) {
	return nil, nil
}
