package models

import "slices"

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
