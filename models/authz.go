package models

import "time"

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
)

// Question is one kind of question rolegate's own handlers ask the policy.
type Question struct {
	Resource, Action string
	// Owned is true when handlers ask about one user's object, with an
	// owner id; Ownerless when they ask with none (a list, an area, a new
	// account, a role chosen at signup). Some questions are asked both ways.
	Owned, Ownerless bool
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
	}
}

// AnonymousRole is the role of a caller that presented no credentials. The
// default policy grants it nothing.
const AnonymousRole = "anonymous"

// Subject is who asks. ID is 0 for an anonymous caller.
type Subject struct {
	ID   int64
	Role string
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
}

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
