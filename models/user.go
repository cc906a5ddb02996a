package models

import "time"

// User is an account. Role names come from the policy, not from Go code.
type User struct {
	ID           int64
	Username     string
	Email        string
	FirstName    string
	LastName     string
	Role         string
	IsActive     bool
	PasswordHash string
	DateJoined   time.Time
	LastLogin    *time.Time
	// TokenEpoch increases whenever every session of the user must end: a
	// password change or a deactivation. Access tokens carry the epoch they
	// were issued under and are refused once it moves on.
	TokenEpoch int64
	// AccountKey is a random value set when the account is created or
	// imported and never changed. Access tokens carry it, so that a row
	// created again under a deleted account's id does not accept the
	// deleted account's tokens. It is never shown to clients.
	AccountKey string
	// Groups are the user's groups (asked as "group:<name>"), sorted. Only
	// the authentication path (the store's CurrentUser) fills them; other
	// reads leave them nil, and no user JSON shows them.
	Groups []string
}

// UserPatch is a partial update of a user. A nil field is left unchanged.
type UserPatch struct {
	Username     *string
	Email        *string
	FirstName    *string
	LastName     *string
	Role         *string
	IsActive     *bool
	PasswordHash *string
}

// Patch is the patch that sets every attribute of u to u's value: u as a
// whole, for the checks that take a patch. Its fields point into u.
func (u *User) Patch() UserPatch {
	return UserPatch{
		Username: &u.Username, Email: &u.Email, FirstName: &u.FirstName, LastName: &u.LastName,
		Role: &u.Role, IsActive: &u.IsActive, PasswordHash: &u.PasswordHash,
	}
}

// ChangesAccess reports whether the patch changes u's role or active flag,
// the attributes guarded by the assign_role action.
func (p UserPatch) ChangesAccess(u *User) bool {
	return (p.Role != nil && *p.Role != u.Role) || (p.IsActive != nil && *p.IsActive != u.IsActive)
}

// RenamesUser reports whether the patch changes u's username.
func (p UserPatch) RenamesUser(u *User) bool { return p.Username != nil && *p.Username != u.Username }

// TouchesAccess reports whether the patch sets the role or the active flag
// at all, whatever their current values.
func (p UserPatch) TouchesAccess() bool { return p.Role != nil || p.IsActive != nil }

// EndsSessions reports whether applying the patch to u must end all of u's
// sessions: a new password or a deactivation.
func (p UserPatch) EndsSessions(u *User) bool {
	return p.PasswordHash != nil || (p.IsActive != nil && !*p.IsActive && u.IsActive)
}

// Apply writes the patch's fields into u.
func (p UserPatch) Apply(u *User) {
	set(&u.Username, p.Username)
	set(&u.Email, p.Email)
	set(&u.FirstName, p.FirstName)
	set(&u.LastName, p.LastName)
	set(&u.Role, p.Role)
	set(&u.IsActive, p.IsActive)
	set(&u.PasswordHash, p.PasswordHash)
}

// UserCheck decides whether patch may be applied to locked, the user as
// stored at the moment of the write: it runs inside the write's
// transaction, after the user's row is locked and before anything is
// written. An error it returns rolls the write back and is returned to
// the caller as it is.
type UserCheck func(locked *User, patch UserPatch) error

// UserChange is a user just before and just after one write, both as the
// write's transaction saw them.
type UserChange struct {
	Before, After *User
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// UserFilter selects a page of users, ordered by ID.
type UserFilter struct {
	Role     *string
	IsActive *bool
	// Search matches a case-insensitive substring of the username or email.
	Search string
	// AfterID starts the page after this ID (the cursor).
	AfterID int64
	// Limit is the most users to return; it must be at least 1.
	Limit int
}

// AdminGuard names the roles whose last active holder may not be removed.
// The HTTP layer derives it from the policy: the roles allowed to assign
// roles to any user. Without one of them, nobody could manage accounts.
type AdminGuard struct {
	Roles []string
	// TenantOwners are the owner-like tenant roles (see TenantGuard): an
	// account that is the last active holder of one in some tenant may
	// not be deleted either, or the tenant would be left without an owner.
	TenantOwners TenantGuard
}

// Protects reports whether u currently counts as an active administrator.
func (g AdminGuard) Protects(u *User) bool {
	if !u.IsActive {
		return false
	}
	for _, r := range g.Roles {
		if r == u.Role {
			return true
		}
	}
	return false
}
