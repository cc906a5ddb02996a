package tenancy

import (
	"context"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// AccessReader reads a tenant and a user's standing in it for the
// decision path: TenantAccess from the user cache when it can,
// TenantStanding as it is now.
type AccessReader interface {
	// TenantAccess returns ENOTFOUND if no tenant matches ref.
	TenantAccess(ctx context.Context, ref string, userID int64) (*models.Tenant, models.TenantContext, error)
	TenantStanding(ctx context.Context, tenantID, userID int64) (models.TenantContext, error)
}

// View is a subject placed in one tenant, for the decision API: the
// scope, and whether the subject may see the tenant at all. Its Tenant is
// nil for an unknown tenant.
type View struct {
	Scope
	Visible bool
}

// View places sub in the tenant ref names (a slug or an id): it reads the
// tenant and sub's standing in it (membership role and break-glass grant;
// through the user cache, but a grant as it is now), and asks whether sub
// may read the tenant, recording nothing. An unknown tenant, and one sub
// may not read, are not visible, alike: the caller must answer both the
// same way, so that a tenant's existence never leaks.
func (a Asker) View(ctx context.Context, st AccessReader, pol *authz.Policy, sub models.Subject, ref string) (View, error) {
	t, standing, err := st.TenantAccess(ctx, ref, sub.ID)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return View{Scope: Scope{Pol: pol, Sub: sub}}, nil
	}
	if err == nil && standing.BreakGlass != "" {
		// A grant ends by itself, which no invalidation announces: read
		// it now rather than from the cache.
		standing, err = st.TenantStanding(ctx, t.ID, sub.ID)
	}
	if err != nil {
		return View{}, err
	}
	return a.Place(pol, t, sub, standing)
}

// Place is View for a tenant and a standing already read: sub placed in
// t with standing, and whether they may read t at all.
func (a Asker) Place(pol *authz.Policy, t *models.Tenant, sub models.Subject, standing models.TenantContext) (View, error) {
	sub.Tenant = &standing
	d, err := a.Decide(pol, sub, models.Resource{Type: models.ResourceTenant}, models.ActionRead)
	if err != nil {
		return View{}, err
	}
	return View{Scope: Scope{Pol: pol, Tenant: t, Sub: sub}, Visible: d.Allowed}, nil
}

// DecideIn asks v's policy about action on res for the scoped subject. In
// an inactive tenant only the system layer (role or group) may allow: the
// second result is true when a tenant layer allowed and the tenant's
// inactivity refused it.
func (a Asker) DecideIn(v View, res models.Resource, action string) (models.Decision, bool, error) {
	d, err := a.Decide(v.Pol, v.Sub, res, action)
	if err != nil || !d.Allowed || InactiveRefusal(v.Tenant, d) == nil {
		return d, false, err
	}
	return models.Decision{PolicyVersion: d.PolicyVersion}, true, nil
}
