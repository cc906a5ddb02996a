package tenancy

import (
	"github.com/rolegate/rolegate/models"
)

// GrantCheck decides the grant cap: whether the caller may give or take
// each tenant role ("grant" on "tenant_role:<role>"), as its Asker
// decides and refuses. It keeps the last allowing decision, for the audit
// event of the change.
type GrantCheck struct {
	asker Asker
	sc    *Scope
	Last  models.Decision
}

// Grants returns the grant cap of the scope's caller.
func (a Asker) Grants(sc *Scope) *GrantCheck { return &GrantCheck{asker: a, sc: sc} }

// Relock replaces the caller's tenant role, read when the request
// entered the tenant, with the one activeRole reads under the write's
// lock: a caller demoted meanwhile grants only what their new role may.
func (g *GrantCheck) Relock(activeRole func(int64) (string, error)) error {
	role, err := activeRole(g.sc.Sub.ID)
	if err != nil {
		return err
	}
	sc := *g.sc
	standing := *sc.Sub.Tenant
	standing.Role = role
	sc.Sub.Tenant = &standing
	g.sc = &sc
	return nil
}

// Allow decides whether the caller may grant role.
func (g *GrantCheck) Allow(role string) error {
	d, err := g.asker.Authorize(g.sc, models.Resource{Type: models.TenantRoleResource(role)}, models.ActionGrant)
	if err != nil {
		return err
	}
	g.Last = d
	return nil
}

// PutCheck is the check of a membership write (store PutMember) giving
// user userID role and, unless nil, the active flag: on the membership
// as the write locks it, with the caller's role relocked, nobody changes
// their own, and the caller must be allowed to grant both the member's
// current role and the new one.
func (g *GrantCheck) PutCheck(userID int64, role string, isActive *bool) models.MemberCheck {
	return func(locked *models.Membership, activeRole func(int64) (string, error)) error {
		if err := g.Relock(activeRole); err != nil {
			return err
		}
		if userID == g.sc.Sub.ID && (locked == nil || role != locked.Role || isActive != nil && *isActive != locked.IsActive) {
			return ErrOwnTenantRole
		}
		if locked != nil {
			if err := g.Allow(locked.Role); err != nil {
				return err
			}
		}
		return g.Allow(role)
	}
}

// RemoveCheck is the check of removing user userID (store RemoveMember):
// leaving, on oneself, which every member may do (the store keeps the
// last owner); else the caller, relocked, must be allowed to grant the
// member's role.
func (g *GrantCheck) RemoveCheck(userID int64) models.MemberCheck {
	return func(locked *models.Membership, activeRole func(int64) (string, error)) error {
		if userID == g.sc.Sub.ID {
			return nil
		}
		if err := g.Relock(activeRole); err != nil {
			return err
		}
		return g.Allow(locked.Role)
	}
}

// GrantableRoles are the tenant roles the scope's caller may grant: who
// may grant none may not invite, nor see the invitations.
func (sc *Scope) GrantableRoles() ([]string, error) {
	roles, err := sc.Pol.GrantableTenantRoles(sc.Sub)
	if err != nil {
		return nil, models.Unavailable(err)
	}
	return roles, nil
}
