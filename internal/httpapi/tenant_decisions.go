package httpapi

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// tenantView is a subject placed in one tenant: the subject with their
// standing there, the tenant, and whether they may see it at all.
type tenantView struct {
	sub     models.Subject
	tenant  *models.Tenant
	visible bool
}

// viewTenant places sub in the tenant ref names (a slug or an id): it reads
// the tenant and sub's standing in it (membership role and break-glass
// grant; through the user cache, but a grant as it is now), and asks
// whether sub may read the tenant. An unknown tenant, and
// one sub may not read, are not visible, alike: the caller must answer
// both the same way, so that a tenant's existence never leaks.
func (h *handler) viewTenant(ctx context.Context, pol *authz.Policy, sub models.Subject, ref string) (tenantView, error) {
	t, standing, err := h.standings.TenantAccess(ctx, ref, sub.ID)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return tenantView{sub: sub}, nil
	}
	if err == nil && standing.BreakGlass != "" {
		// A grant ends by itself, which no invalidation announces: read
		// it now rather than from the cache.
		standing, err = h.standings.TenantStanding(ctx, t.ID, sub.ID)
	}
	if err != nil {
		return tenantView{}, err
	}
	sub.Tenant = &standing
	d, err := h.decide(pol, sub, models.Resource{Type: models.ResourceTenant}, models.ActionRead)
	if err != nil {
		return tenantView{}, err
	}
	return tenantView{sub: sub, tenant: t, visible: d.Allowed}, nil
}

// decide asks pol about action on res for the scoped subject. In an
// inactive tenant only the system layer (role or group) may allow: the
// second result is true when a tenant layer allowed and the tenant's
// inactivity refused it.
func (s tenantView) decide(h *handler, pol *authz.Policy, res models.Resource, action string) (models.Decision, bool, error) {
	d, err := h.decide(pol, s.sub, res, action)
	if err != nil || !d.Allowed || inactiveRefusal(s.tenant, d) == nil {
		return d, false, err
	}
	return models.Decision{PolicyVersion: d.PolicyVersion}, true, nil
}

// role is the scoped subject's membership role in the tenant, "" for none.
func (s tenantView) role() string {
	if s.sub.Tenant == nil {
		return ""
	}
	return s.sub.Tenant.Role
}

// recordBreakGlassDecision records a yes of the decision API that only a
// break-glass grant gave, in the tenant's own trail: its owners see what
// was looked at under it, and by whom.
func (h *handler) recordBreakGlassDecision(c *gin.Context, view tenantView, d models.Decision, res models.Resource, action string) {
	detail := map[string]any{"resource": res.Type, "action": action, "via": d.Via, "subject_id": view.sub.ID, "route": c.FullPath()}
	if res.OwnerID > 0 {
		detail["owner_id"] = res.OwnerID
	}
	h.recordTenantChange(c, view.tenant, d, models.AuditBreakGlassDecision, breakGlassTarget(view.tenant.ID), detail)
}
