// Package tenancy decides questions inside one tenant, for both the JSON
// API and the staff console: who stands where in a tenant, what an
// inactive tenant refuses, and the grant cap on tenant roles that every
// membership and invitation change obeys. It knows neither gin nor
// net/http: each caller brings its own way of deciding (with its metrics)
// and of recording and answering a refusal, in an Asker.
package tenancy

import (
	"context"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// ErrTenantInactive answers the members of an inactive tenant.
var ErrTenantInactive = &models.Error{Code: models.EFORBIDDEN, Reason: "tenant_inactive", Message: "This tenant is inactive."}

// ErrOwnTenantRole refuses a change of one's own membership.
var ErrOwnTenantRole = &models.Error{Code: models.EFORBIDDEN, Reason: "own_tenant_role",
	Message: "Nobody changes their own tenant role or active flag."}

// ErrHidden is Enter's answer for a tenant the caller may not read: the
// caller answers it exactly as a tenant that does not exist.
var ErrHidden = models.Errorf(models.ENOTFOUND, "Not found.")

// Scope is a caller inside one tenant: the policy in force, the tenant,
// and the caller as a subject standing in it.
type Scope struct {
	Pol    *authz.Policy
	Tenant *models.Tenant
	Sub    models.Subject
}

// Role is the caller's active membership role in the tenant, "" for none.
func (sc *Scope) Role() string {
	if sc.Sub.Tenant == nil {
		return ""
	}
	return sc.Sub.Tenant.Role
}

// Asker is how one caller decides and refuses. Decide asks the policy
// (the API counts its decisions); Deny records a refusal inside the
// scope's tenant and returns the error to answer with.
type Asker struct {
	Decide func(pol *authz.Policy, sub models.Subject, res models.Resource, action string) (models.Decision, error)
	Deny   func(sc *Scope, d models.Decision, res models.Resource, action string) error
}

// TenantReader reads a tenant and a user's standing in it, as they are
// now.
type TenantReader interface {
	// TenantByRef returns ENOTFOUND when no tenant has ref as slug or id.
	TenantByRef(ctx context.Context, ref string) (*models.Tenant, error)
	TenantStanding(ctx context.Context, tenantID, userID int64) (models.TenantContext, error)
}

// Enter places sub in the tenant ref names (a slug or an id) and decides
// "tenant, read". It returns the read decision as soon as one was made. A
// tenant sub may not read is ErrHidden, its refusal recorded by a.Deny,
// so that a tenant's existence never leaks; an inactive tenant is
// ErrTenantInactive for those whose right comes from inside it.
func (a Asker) Enter(ctx context.Context, st TenantReader, pol *authz.Policy, sub models.Subject, ref string) (*Scope, models.Decision, error) {
	t, err := st.TenantByRef(ctx, ref)
	if err != nil {
		return nil, models.Decision{}, err
	}
	standing, err := st.TenantStanding(ctx, t.ID, sub.ID)
	if err != nil {
		return nil, models.Decision{}, err
	}
	sc := &Scope{Pol: pol, Tenant: t, Sub: sub}
	sc.Sub.Tenant = &standing
	res := models.Resource{Type: models.ResourceTenant}
	d, err := a.Decide(pol, sc.Sub, res, models.ActionRead)
	if err != nil {
		return nil, d, err
	}
	if !d.Allowed {
		_ = a.Deny(sc, d, res, models.ActionRead)
		return nil, d, ErrHidden
	}
	if err := InactiveRefusal(t, d); err != nil {
		return nil, d, err
	}
	return sc, d, nil
}

// Authorize decides action on res inside the scope's tenant: a refusal is
// a.Deny's error, and an inactive tenant refuses what a membership or a
// break-glass grant allowed.
func (a Asker) Authorize(sc *Scope, res models.Resource, action string) (models.Decision, error) {
	d, err := a.Decide(sc.Pol, sc.Sub, res, action)
	if err != nil {
		return d, err
	}
	if !d.Allowed {
		return d, a.Deny(sc, d, res, action)
	}
	return d, InactiveRefusal(sc.Tenant, d)
}

// Can reports, without recording anything, whether the scope's caller
// holds action on res: for showing a button, which the server decides
// again when it is used.
func (a Asker) Can(sc *Scope, res models.Resource, action string) bool {
	d, err := a.Decide(sc.Pol, sc.Sub, res, action)
	return err == nil && d.Allowed && InactiveRefusal(sc.Tenant, d) == nil
}

// InactiveRefusal refuses an inactive tenant to everyone whose right
// comes from inside it (a membership or a break-glass grant); the system
// layer (role and groups) still reaches it, to inspect or reactivate it.
func InactiveRefusal(t *models.Tenant, d models.Decision) error {
	if !t.IsActive && (d.Via == models.ViaMembership || d.Via == models.ViaBreakGlass) {
		return ErrTenantInactive
	}
	return nil
}
