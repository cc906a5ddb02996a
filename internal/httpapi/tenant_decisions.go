package httpapi

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// tenantView is a subject placed in one tenant, for the decision API.
type tenantView = tenancy.View

// viewTenant places sub in the tenant ref names: see tenancy.Asker.View.
// It records nothing, so it needs no request.
func (h *handler) viewTenant(ctx context.Context, pol *authz.Policy, sub models.Subject, ref string) (tenantView, error) {
	return tenancy.Asker{Decide: h.decide}.View(ctx, h.standings, pol, sub, ref)
}

// decideIn asks view's policy about action on res: see
// tenancy.Asker.DecideIn.
func (h *handler) decideIn(view tenantView, res models.Resource, action string) (models.Decision, bool, error) {
	return tenancy.Asker{Decide: h.decide}.DecideIn(view, res, action)
}

// recordBreakGlassDecision records a yes of the decision API that only a
// break-glass grant gave, in the tenant's own trail: its owners see what
// was looked at under it, and by whom.
func (h *handler) recordBreakGlassDecision(c *gin.Context, view tenantView, d models.Decision, res models.Resource, action string) {
	detail := map[string]any{"resource": res.Type, "action": action, "via": d.Via, "subject_id": view.Sub.ID, "route": c.FullPath()}
	if res.OwnerID > 0 {
		detail["owner_id"] = res.OwnerID
	}
	h.recordTenantChange(c, view.Tenant, d, models.AuditBreakGlassDecision, breakGlassTarget(view.Tenant.ID), detail)
}
