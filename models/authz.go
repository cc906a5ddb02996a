package models

import (
	"strings"
	"time"
)

// Resource types and actions used by rolegate's own endpoints. The policy
// may name others; these are the ones the handlers ask about.
const (
	ResourceUsers     = "users"
	ResourceAdminArea = "admin_area"
	ResourceStaffArea = "staff_area"
	ResourceUserArea  = "user_area"
	ResourcePolicy    = "policy"
	ResourceAuthz     = "authz"
	ResourceAudit     = "audit"

	// The system layer over tenants: every tenant at once (tenants), and
	// the policy's groups (groups).
	ResourceTenants = "tenants"
	ResourceGroups  = "groups"

	// The tenant layer: one tenant (tenant), its members, its own audit
	// trail, and the application's records in it. ResourceRecords is the
	// resource group the default policy puts the application's resources
	// in (customers, suppliers, ...); a question may name the group or any
	// of its members.
	ResourceTenant      = "tenant"
	ResourceMembers     = "members"
	ResourceTenantAudit = "tenant_audit"
	ResourceRecords     = "records"
	// TenantRolePrefix starts the resource that stands for one tenant
	// role: "tenant_role:admin" with ActionGrant is inviting, adding,
	// changing to or from, or removing a member with the role admin.
	TenantRolePrefix = "tenant_role:"

	ActionList          = "list"
	ActionRead          = "read"
	ActionCreate        = "create"
	ActionUpdate        = "update"
	ActionDelete        = "delete"
	ActionAssignRole    = "assign_role"
	ActionRename        = "rename" // changing a username, one's own included
	ActionResetPassword = "reset_password"
	ActionReload        = "reload"
	// ActionCheckOthers is asking the decision API about a subject other
	// than oneself (resource authz).
	ActionCheckOthers = "check_others"
	// ActionGrant on TenantRoleResource(role) is giving a member that
	// role, or taking it away.
	ActionGrant = "grant"
	// ActionBreakGlassRead and ActionBreakGlassWrite on ResourceTenants
	// are taking time-boxed read or write access to a tenant one is not a
	// member of.
	ActionBreakGlassRead  = "break_glass_read"
	ActionBreakGlassWrite = "break_glass_write"
	// ActionAssign on ResourceGroups is adding a user to a group or
	// removing one from it.
	ActionAssign = "assign"
)

// TenantRoleResource is the resource that stands for the tenant role role,
// which ActionGrant questions name: "tenant_role:" + role.
func TenantRoleResource(role string) string { return TenantRolePrefix + role }

// Break-glass modes: what an active break-glass grant lets its holder do
// inside the tenant (TenantContext.BreakGlass).
const (
	BreakGlassRead  = "read"
	BreakGlassWrite = "write"
)

// Question is one kind of question rolegate's own handlers ask the policy.
type Question struct {
	// Resource is the resource asked about; with Prefix, every resource
	// that starts with it (TenantRolePrefix: one per tenant role).
	Resource, Action string
	Prefix           bool
	// Owned is true when handlers ask about one user's object, with an
	// owner id; Ownerless when they ask with none (a list, an area, a new
	// account, a role chosen at signup). Some questions are asked both ways.
	Owned, Ownerless bool
	// InTenant is true when handlers ask it about one tenant, with the
	// caller's role in it (Subject.Tenant). A question asked only without
	// a tenant is one no tenant role or break-glass grant can answer.
	InTenant bool
}

// Covers reports whether q is the question about action on resource.
func (q Question) Covers(resource, action string) bool {
	if q.Action != action {
		return false
	}
	if q.Prefix {
		return strings.HasPrefix(resource, q.Resource) && len(resource) > len(q.Resource)
	}
	return q.Resource == resource
}

// Questions lists every question rolegate's handlers ask, in one place: a
// handler that asks a new one must add it here. The policy linter warns
// about grants for anything else and flags "own" grants for questions
// that never have an owner.
func Questions() []Question {
	return []Question{
		{Resource: ResourceUsers, Action: ActionList, Ownerless: true},
		{Resource: ResourceUsers, Action: ActionRead, Owned: true},
		{Resource: ResourceUsers, Action: ActionCreate, Ownerless: true},
		{Resource: ResourceUsers, Action: ActionUpdate, Owned: true},
		{Resource: ResourceUsers, Action: ActionDelete, Owned: true},
		{Resource: ResourceUsers, Action: ActionAssignRole, Owned: true, Ownerless: true},
		{Resource: ResourceUsers, Action: ActionRename, Owned: true},
		{Resource: ResourceUsers, Action: ActionResetPassword, Owned: true},
		{Resource: ResourceAdminArea, Action: ActionRead, Ownerless: true},
		{Resource: ResourceStaffArea, Action: ActionRead, Ownerless: true},
		{Resource: ResourceUserArea, Action: ActionRead, Ownerless: true},
		{Resource: ResourcePolicy, Action: ActionRead, Ownerless: true},
		{Resource: ResourcePolicy, Action: ActionReload, Ownerless: true},
		{Resource: ResourceAuthz, Action: ActionCheckOthers, Ownerless: true},
		{Resource: ResourceAudit, Action: ActionRead, Ownerless: true},
		{Resource: ResourceConsole, Action: ActionAccess, Ownerless: true},
		{Resource: ResourceUsers, Action: ActionExport, Ownerless: true},
		{Resource: ResourceAudit, Action: ActionExport, Ownerless: true},

		{Resource: ResourceTenants, Action: ActionList, Ownerless: true},
		{Resource: ResourceTenants, Action: ActionCreate, Ownerless: true},
		{Resource: ResourceTenants, Action: ActionBreakGlassRead, Ownerless: true},
		{Resource: ResourceTenants, Action: ActionBreakGlassWrite, Ownerless: true},
		{Resource: ResourceGroups, Action: ActionList, Ownerless: true},
		{Resource: ResourceGroups, Action: ActionRead, Ownerless: true},
		{Resource: ResourceGroups, Action: ActionAssign, Ownerless: true},

		{Resource: ResourceTenant, Action: ActionRead, Ownerless: true, InTenant: true},
		{Resource: ResourceTenant, Action: ActionUpdate, Ownerless: true, InTenant: true},
		{Resource: ResourceTenant, Action: ActionDelete, Ownerless: true, InTenant: true},
		{Resource: ResourceMembers, Action: ActionList, Ownerless: true, InTenant: true},
		{Resource: ResourceTenantAudit, Action: ActionRead, Ownerless: true, InTenant: true},
		{Resource: TenantRolePrefix, Prefix: true, Action: ActionGrant, Ownerless: true, InTenant: true},
		// Records are asked about by other services, through the decision
		// API and the forward endpoint; the owner, when given, is the
		// record's creator.
		{Resource: ResourceRecords, Action: ActionList, Ownerless: true, InTenant: true},
		{Resource: ResourceRecords, Action: ActionRead, Owned: true, Ownerless: true, InTenant: true},
		{Resource: ResourceRecords, Action: ActionCreate, Ownerless: true, InTenant: true},
		{Resource: ResourceRecords, Action: ActionUpdate, Owned: true, Ownerless: true, InTenant: true},
		{Resource: ResourceRecords, Action: ActionDelete, Owned: true, Ownerless: true, InTenant: true},
	}
}

// AnonymousRole is the role of a caller that presented no credentials. The
// default policy grants it nothing.
const AnonymousRole = "anonymous"

// Subject is who asks. ID is 0 for an anonymous caller. The policy is
// asked about each of the subject's layers in turn, and the first that
// allows decides (see Decision.Via): the system role, each group, and,
// only inside a tenant, the tenant role and an active break-glass grant.
type Subject struct {
	ID int64
	// Role is the system role (users.role).
	Role string
	// Groups are the caller's groups (user_groups), asked as
	// "group:<name>".
	Groups []string
	// Tenant is set when the question is about one tenant, and only then:
	// a system question never carries a tenant, so no tenant role can
	// answer it.
	Tenant *TenantContext
}

// TenantContext is the caller's standing in the tenant a question is
// about.
type TenantContext struct {
	TenantID int64
	// Role is the caller's role in the tenant, asked as "tenant:<role>";
	// empty without an active membership.
	Role string
	// BreakGlass is the mode of the caller's active break-glass grant on
	// the tenant (BreakGlassRead or BreakGlassWrite), asked as
	// "break_glass:<mode>"; empty without one.
	BreakGlass string
}

// Resource is what is asked about. OwnerID is 0 when the request concerns
// no particular object (a list, an area).
type Resource struct {
	Type    string
	OwnerID int64
}

// Decision is the policy's answer to (subject, resource, action).
type Decision struct {
	Allowed bool
	// Rule is the policy line that allowed the request, empty on a deny.
	Rule []string
	// PolicyVersion identifies the policy that decided.
	PolicyVersion string
	// Via says which of the subject's layers allowed: ViaRole, ViaGroup,
	// ViaMembership or ViaBreakGlass; empty on a deny.
	Via string
}

// The layers of a subject a decision can come through (Decision.Via).
const (
	ViaRole       = "role"
	ViaGroup      = "group"
	ViaMembership = "membership"
	ViaBreakGlass = "break_glass"
)

// Session is one login: a chain of refresh tokens, each replacing the last.
type Session struct {
	ID        string
	UserID    int64
	CreatedAt time.Time
	RevokedAt *time.Time
}

// RefreshToken is the stored form of an issued refresh token: only a hash
// of the token is kept.
type RefreshToken struct {
	Hash string
	// SessionID is the session the token belongs to. The successor of a
	// spent token goes to the spent token's session, whatever this says.
	SessionID string
	ExpiresAt time.Time
}
