package models

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a tenant's attributes.
const (
	MaxTenantNameLen     = 200      // characters
	MaxTenantSettingsLen = 16 << 10 // bytes of JSON
)

var slugPattern = regexp.MustCompile(`^[a-z0-9-]{2,63}$`)

// Tenant is one customer organisation of the application rolegate guards:
// the seed's tenants.tenant. Its members hold tenant roles in it.
type Tenant struct {
	ID int64
	// Slug names the tenant in paths; unique, [a-z0-9-]{2,63}.
	Slug     string
	Name     string
	IsActive bool
	// Settings is a JSON object of at most MaxTenantSettingsLen bytes,
	// which the tenant's owners and admins edit; rolegate never reads it.
	Settings  json.RawMessage
	CreatedAt time.Time
}

// Validate returns EINVALID naming every bad field of t, or nil. An
// empty Settings stands for {}.
func (t *Tenant) Validate() error {
	fields := map[string][]string{}
	if !slugPattern.MatchString(t.Slug) {
		fields["slug"] = append(fields["slug"], "Enter 2 to 63 lowercase letters, digits or hyphens.")
	}
	if msg := nameProblem(t.Name); msg != "" {
		fields["name"] = append(fields["name"], msg)
	}
	if msg := settingsProblem(t.Settings); msg != "" {
		fields["settings"] = append(fields["settings"], msg)
	}
	if len(fields) > 0 {
		return &Error{Code: EINVALID, Message: "invalid input", Fields: fields}
	}
	return nil
}

func nameProblem(name string) string {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name) || strings.ContainsFunc(name, isControl):
		return "The name must be text without control characters."
	case strings.TrimSpace(name) == "":
		return "This field may not be blank."
	case n > MaxTenantNameLen:
		return "Ensure this field has no more than 200 characters."
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func settingsProblem(s json.RawMessage) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > MaxTenantSettingsLen {
		return "The settings may hold at most 16 KiB of JSON."
	}
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(s); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		return "The settings must be a JSON object."
	}
	return ""
}

// TenantPatch is a partial update of a tenant. A nil field is left
// unchanged; the slug never changes.
type TenantPatch struct {
	Name     *string
	Settings json.RawMessage
	IsActive *bool
}

// Apply writes the patch's fields into t.
func (p TenantPatch) Apply(t *Tenant) {
	set(&t.Name, p.Name)
	set(&t.IsActive, p.IsActive)
	if p.Settings != nil {
		t.Settings = p.Settings
	}
}

// TenantChange is a tenant just before and just after one write.
type TenantChange struct {
	Before, After *Tenant
}

// TenantFilter selects a page of tenants, in ascending id order.
type TenantFilter struct {
	// AfterID starts the page after this id (the cursor).
	AfterID int64
	// Limit is the most tenants to return; it must be at least 1.
	Limit int
	// WithInactive lists a user's inactive memberships too (ListTenantsOf
	// only): the console's view of a user, where the API's "my tenants"
	// lists the active ones.
	WithInactive bool
}

// MemberTenant is a tenant as one of its members sees it in their list:
// with their role in it.
type MemberTenant struct {
	Tenant
	Role string
	// MemberActive is whether the membership is active; always true
	// unless the filter asked WithInactive.
	MemberActive bool
}

// Membership is one user's standing in one tenant: the seed's
// tenants.tenantuser. An inactive membership counts as none.
type Membership struct {
	TenantID int64
	UserID   int64
	// Role is a tenant role the policy defines ("tenant:<role>").
	Role      string
	IsActive  bool
	CreatedAt time.Time
	// InvitedBy is the user who added or invited the member; 0 for none.
	InvitedBy int64
	// User is the member's account as listings show it (no password hash,
	// no keys); only ListMembers fills it.
	User *User
}

// MemberPatch is a change to a membership, or a new one. A nil field is
// left unchanged; a new membership needs a role and is active unless the
// patch says otherwise.
type MemberPatch struct {
	Role     *string
	IsActive *bool
	// InvitedBy is recorded on a new membership only.
	InvitedBy int64
}

// MemberChange is a membership just before and just after one write.
// Before is nil for a new member, After nil for one removed.
type MemberChange struct {
	Before, After *Membership
}

// MemberCheck decides whether a write may change the membership locked,
// as stored at the moment of the write (nil when the user is not yet a
// member): it runs inside the write's transaction, after the tenant's
// memberships are locked and before anything is written. activeRole
// reads another user's active role in the tenant under the same lock ("" for
// none), so that the caller's own standing is decided on the same state
// as the write. An error it returns rolls the write back and is returned
// as it is.
type MemberCheck func(locked *Membership, activeRole func(userID int64) (string, error)) error

// MemberFilter selects a page of a tenant's members, by ascending user id.
type MemberFilter struct {
	// Role selects the members holding one tenant role; "" selects all.
	Role string
	// Search matches a case-insensitive substring of the username or email.
	Search string
	// AfterUserID starts the page after this user id (the cursor).
	AfterUserID int64
	// Limit is the most members to return; it must be at least 1.
	Limit int
}

// TenantGuard names the owner-like tenant roles: the tenant roles the
// policy lets delete the tenant. A tenant must always keep an active
// member holding one, or nobody could manage it again. The policy, not Go,
// says which roles these are (authz.Policy.TenantGuard).
type TenantGuard struct {
	Roles []string
}

// Protects reports whether a membership with role, active or not, counts
// as one of the tenant's active owners.
func (g TenantGuard) Protects(role string, active bool) bool {
	return active && slices.Contains(g.Roles, role)
}

// Invitation invites whoever signs in with Email to join a tenant with
// Role. Only a hash of its token is stored; Token is set only on the
// invitation CreateInvitation returns, the one time it is shown.
type Invitation struct {
	ID        int64
	TenantID  int64
	Email     string
	Role      string
	ExpiresAt time.Time
	CreatedBy int64
	CreatedAt time.Time
	// AcceptedAt and AcceptedBy are set once the invitation is used.
	AcceptedAt *time.Time
	AcceptedBy int64
	// RevokedAt and RevokedBy are set once it is revoked.
	RevokedAt *time.Time
	RevokedBy int64
	Token     string
}

// Pending reports whether the invitation can still be accepted at now.
func (i *Invitation) Pending(now time.Time) bool {
	return i.AcceptedAt == nil && i.RevokedAt == nil && now.Before(i.ExpiresAt)
}

// InvitationFilter selects a page of a tenant's pending invitations, by
// ascending id.
type InvitationFilter struct {
	AfterID int64
	Limit   int
}

// Sort orders of the console's tenant list, in Django's spelling: a
// field name, with "-" before it for descending.
var TenantOrders = []string{"id", "-id", "name", "-name", "slug", "-slug", "created", "-created"}

// TenantQuery selects a page of tenants for the console: a search of the
// name and slug, the active flag, an order from TenantOrders, and a keyset
// cursor, the sort key of the last tenant of the previous page.
type TenantQuery struct {
	Search   string
	IsActive *bool
	Order    string
	After    *TenantCursor
	Limit    int
}

// TenantCursor is the position a page of tenants starts after: the sort
// value of the last tenant seen (Key for the name or slug, Time for the
// creation time) and its id, which breaks ties.
type TenantCursor struct {
	ID   int64
	Key  string
	Time *time.Time
}
