package models

import (
	"errors"
	"slices"
	"time"
)

// Audit actions: what an audit event is about. The names are
// "subject.verb", so that a reader can tell them apart at a glance and a
// filter can name one exactly.
const (
	// AuditLoginSuccess is a login that issued tokens.
	AuditLoginSuccess = "login.success"
	// AuditLoginFailure is a refused login; the attempted username is in
	// the detail, the password never is.
	AuditLoginFailure = "login.failure"
	// AuditRefreshReuse is a spent refresh token presented again: a sign
	// that it was stolen. Its whole session has been revoked.
	AuditRefreshReuse = "refresh.reuse"
	// AuditDecisionDeny is a request the policy refused.
	AuditDecisionDeny = "decision.deny"
	// AuditUserCreate is an administrator creating an account.
	AuditUserCreate = "user.create"
	// AuditUserUpdate is a change to a user's profile; the detail names
	// the changed fields but not their values.
	AuditUserUpdate = "user.update"
	// AuditUserRoleChange is a change to a user's role or active flag,
	// with the old and new values.
	AuditUserRoleChange = "user.role_change"
	// AuditUserDelete is an account deleted.
	AuditUserDelete = "user.delete"
	// AuditUserPasswordReset is an administrator setting another user's
	// password.
	AuditUserPasswordReset = "user.password_reset"
	// AuditUserPasswordChange is users changing their own password.
	AuditUserPasswordChange = "user.password_change"
	// AuditUserSessionsEnd is a staff member ending all of a user's
	// sessions in the console.
	AuditUserSessionsEnd = "user.sessions_end"
	// AuditPolicyReload is an attempt to reload the policy, whatever
	// triggered it and whether or not it succeeded.
	AuditPolicyReload = "policy.reload"
	// AuditRequestThrottled is a request refused by a rate limit (a 429),
	// such as a login or signup past its limit. These are aggregated per
	// client address and route.
	AuditRequestThrottled = "request.throttled"
	// AuditKeyRotate is a signing key added by "rolegate keys rotate",
	// with the keys that rotation dropped.
	AuditKeyRotate = "key.rotate"
	// AuditKeyRetire is a signing key removed by "rolegate keys retire".
	AuditKeyRetire = "key.retire"

	// The tenant layer's changes. Each event carries its tenant
	// (AuditEvent.TenantID) and, in its detail, the values before and
	// after the change.
	AuditTenantCreate     = "tenant.create"
	AuditTenantUpdate     = "tenant.update"
	AuditTenantDelete     = "tenant.delete"
	AuditMemberAdd        = "member.add"
	AuditMemberUpdate     = "member.update" // a role or active-flag change
	AuditMemberRemove     = "member.remove" // a member removed, or leaving
	AuditInvitationCreate = "invitation.create"
	AuditInvitationRevoke = "invitation.revoke"
	AuditInvitationAccept = "invitation.accept"
	// AuditGroupMemberAdd is a user added to a group, with the group and
	// the membership before (false) and after (true).
	AuditGroupMemberAdd = "group.member_add"
	// AuditGroupMemberRemove is a user removed from a group.
	AuditGroupMemberRemove = "group.member_remove"
	// AuditBreakGlassStart is a break-glass grant taken on a tenant, with
	// its reason, mode and expiry, in the tenant's own trail.
	AuditBreakGlassStart = "break_glass.start"
	// AuditBreakGlassEnd is a break-glass grant ended early by its holder.
	AuditBreakGlassEnd = "break_glass.end"
	// AuditBreakGlassDecision is a question the decision API (check or
	// forward) answered yes only through a break-glass grant.
	AuditBreakGlassDecision = "break_glass.decision"
)

// AuditActions lists every audit action, for validating filters.
var AuditActions = []string{
	AuditLoginSuccess, AuditLoginFailure, AuditRefreshReuse, AuditDecisionDeny,
	AuditUserCreate, AuditUserUpdate, AuditUserRoleChange, AuditUserDelete,
	AuditUserPasswordReset, AuditUserPasswordChange, AuditUserSessionsEnd, AuditPolicyReload, AuditRequestThrottled,
	AuditKeyRotate, AuditKeyRetire,
	AuditTenantCreate, AuditTenantUpdate, AuditTenantDelete, AuditMemberAdd, AuditMemberUpdate, AuditMemberRemove,
	AuditInvitationCreate, AuditInvitationRevoke, AuditInvitationAccept,
	AuditGroupMemberAdd, AuditGroupMemberRemove,
	AuditBreakGlassStart, AuditBreakGlassEnd, AuditBreakGlassDecision,
}

// IsAuditAction reports whether action is one of AuditActions.
func IsAuditAction(action string) bool { return slices.Contains(AuditActions, action) }

// Audit results.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
	AuditDeny    = "deny"
)

// SystemRole is the actor role of events the server causes by itself,
// such as a policy reload after a file edit or SIGHUP.
const SystemRole = "system"

// CLIRole is the actor role of events an operator causes with the
// rolegate command, such as a key rotation.
const CLIRole = "cli"

// AuditEvent is one entry of the audit trail: who did what to which
// target, with what result, and under which policy.
type AuditEvent struct {
	ID int64
	At time.Time
	// ActorID is the user who acted, 0 when there is none (an anonymous
	// caller, or the server itself).
	ActorID   int64
	ActorRole string
	Action    string
	// Target names what was acted on, such as "users/7" or "policy".
	Target string
	// TenantID is the tenant the event is about, 0 for none: its owners
	// read it in the tenant's own trail.
	TenantID int64
	Result   string
	// Rule is the policy line that allowed the action, such as
	// "admin, users, delete, any"; empty for a deny, where no rule matched,
	// and for events that are not policy decisions.
	Rule          string
	PolicyVersion string
	RequestID     string
	ClientIP      string
	// Detail holds a few more facts, never a password or a token.
	Detail map[string]any
	// Count is how many occurrences the event stands for. An aggregate
	// (the denials of anonymous callers, throttled requests) counts every
	// occurrence of its kind in a window; any other event is one, and a
	// zero Count is stored as 1.
	Count int64
	// FirstAt is the time of an aggregate's first occurrence; At is its
	// last. A zero FirstAt is stored as At.
	FirstAt time.Time
}

// AuditFilter selects a page of audit events, newest first (see
// AuditPosition).
type AuditFilter struct {
	// ActorID selects one actor's events; 0 selects all.
	ActorID int64
	// Action selects one action; "" selects all.
	Action string
	// TenantID selects the events about one tenant; 0 selects all.
	TenantID int64
	// Result selects one result ("allow", "deny", ...); "" selects all.
	Result string
	// Target selects the events about one thing, such as "users/7" for a
	// user's history; "" selects all.
	Target string
	// Since and Until bound the events' times: Since <= At < Until. A zero
	// time does not bound.
	Since, Until time.Time
	// Before starts the page after this position (the cursor); the zero
	// position starts at the newest event.
	Before AuditPosition
	Limit  int
}

// AuditPosition is a place in the audit trail's order: newest first by
// event time, and among events of one time, by id, highest first. Replicas
// write their events in batches, so ids alone are not in time order.
type AuditPosition struct {
	At time.Time
	ID int64
}

// IsZero reports whether p is the start of the trail.
func (p AuditPosition) IsZero() bool { return p.ID == 0 }

// ErrRefreshReused marks a refresh token presented a second time. Its
// session has been revoked by the time an error wrapping it is returned.
var ErrRefreshReused = errors.New("refresh token reused; session revoked")

// RefreshReusedError is a reuse of the refresh token of user UserID. It
// wraps the error that reported the reuse, so errors.Is finds
// ErrRefreshReused and errors.As finds the client-facing *Error.
type RefreshReusedError struct {
	UserID int64
	Err    error
}

func (e *RefreshReusedError) Error() string { return e.Err.Error() }

func (e *RefreshReusedError) Unwrap() error { return e.Err }
