package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/models"
)

var tenantsResource = models.Resource{Type: models.ResourceTenants}

type breakGlassInput struct {
	Reason  *string `json:"reason"`
	Minutes *int    `json:"minutes"`
	Mode    *string `json:"mode"`
}

// breakGlassJSON is a break-glass grant as clients see it.
type breakGlassJSON struct {
	ID        int64      `json:"id"`
	Tenant    string     `json:"tenant"`
	TenantID  int64      `json:"tenant_id"`
	UserID    int64      `json:"user_id"`
	Mode      string     `json:"mode"`
	Reason    string     `json:"reason"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	EndedAt   *time.Time `json:"ended_at"`
}

func breakGlassOf(g *models.BreakGlassGrant, t *models.Tenant) breakGlassJSON {
	return breakGlassJSON{
		ID: g.ID, Tenant: t.Slug, TenantID: t.ID, UserID: g.UserID, Mode: g.Mode, Reason: g.Reason,
		CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt, EndedAt: g.EndedAt,
	}
}

// parseBreakGlass reads and validates the body of a break-glass request.
func parseBreakGlass(c *gin.Context) (models.BreakGlassRequest, error) {
	var in breakGlassInput
	if err := decode(c, &in); err != nil {
		return models.BreakGlassRequest{}, err
	}
	f := fieldErrors{}
	required(f, map[string]*string{"reason": in.Reason, "mode": in.Mode})
	if in.Minutes == nil {
		f.add("minutes", "This field is required.")
	}
	if err := f.err(); err != nil {
		return models.BreakGlassRequest{}, err
	}
	req := models.BreakGlassRequest{Reason: *in.Reason, Minutes: *in.Minutes, Mode: *in.Mode}
	return req, req.Validate()
}

// startBreakGlass gives the caller time-boxed access to one tenant. It is
// decided on the system layer (tenants, break_glass_read or
// break_glass_write), never by a tenant role: a tenant's own members
// cannot hand it out. A tenant the caller may not see is 404, as anywhere
// under /v1/tenants/{slug}.
func (h *handler) startBreakGlass(c *gin.Context) error {
	req, err := parseBreakGlass(c)
	if err != nil {
		return err
	}
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	d, err := h.authorize(c, sc.Pol, tenantsResource, models.BreakGlassAction(req.Mode))
	if err != nil {
		return err
	}
	caller := principal(c.Request.Context())
	g, replaced, err := h.breakGlass.StartBreakGlass(c.Request.Context(), sc.Tenant.ID, caller.ID, req)
	if err != nil {
		return err
	}
	detail := map[string]any{"grant_id": g.ID, "mode": g.Mode, "reason": g.Reason, "minutes": req.Minutes, "expires_at": g.ExpiresAt}
	if len(replaced) > 0 {
		ids := make([]int64, len(replaced))
		for i, r := range replaced {
			ids[i] = r.ID
		}
		detail["replaced"] = ids
	}
	h.recordTenantChange(c, sc.Tenant, d, models.AuditBreakGlassStart, breakGlassTarget(sc.Tenant.ID), detail)
	c.JSON(http.StatusCreated, breakGlassOf(g, sc.Tenant))
	return nil
}

// endBreakGlass ends the caller's own active grant on a tenant early.
// Giving up access needs no grant of the policy; a caller without an
// active grant there gets the same 404 as for an unknown tenant.
func (h *handler) endBreakGlass(c *gin.Context) error {
	caller := principal(c.Request.Context())
	t, err := h.tenants.TenantByRef(c.Request.Context(), c.Param("tenant"))
	if models.ErrorCode(err) == models.ENOTFOUND {
		return errNotFound
	}
	if err != nil {
		return err
	}
	g, err := h.breakGlass.EndBreakGlass(c.Request.Context(), t.ID, caller.ID, caller.ID)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return errNotFound
	}
	if err != nil {
		return err
	}
	h.recordTenantChange(c, t, models.Decision{}, models.AuditBreakGlassEnd, breakGlassTarget(t.ID),
		map[string]any{"grant_id": g.ID, "mode": g.Mode, "reason": g.Reason, "expires_at": g.ExpiresAt})
	c.Status(http.StatusNoContent)
	return nil
}

// breakGlassTarget names a tenant's break-glass access as an audit target.
func breakGlassTarget(tenantID int64) string {
	return "tenants/" + strconv.FormatInt(tenantID, 10) + "/access"
}
