package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// TenantStore is what the tenant routes need from storage.
type TenantStore interface {
	// CreateTenant returns EINVALID for a bad tenant and ECONFLICT for a
	// taken slug.
	CreateTenant(ctx context.Context, t *models.Tenant, ownerID int64, ownerRole string) (*models.Tenant, error)
	// TenantByRef returns ENOTFOUND when no tenant has ref as slug or id.
	TenantByRef(ctx context.Context, ref string) (*models.Tenant, error)
	// TenantByID returns ENOTFOUND.
	TenantByID(ctx context.Context, id int64) (*models.Tenant, error)
	// TenantStanding returns the caller's active role and break-glass
	// mode in the tenant.
	TenantStanding(ctx context.Context, tenantID, userID int64) (models.TenantContext, error)
	// UpdateTenant returns ENOTFOUND, or EINVALID for a bad result.
	UpdateTenant(ctx context.Context, id int64, patch models.TenantPatch) (models.TenantChange, error)
	// DeleteTenant returns ENOTFOUND.
	DeleteTenant(ctx context.Context, id int64) (*models.Tenant, error)
	ListTenants(ctx context.Context, f models.TenantFilter) ([]*models.Tenant, error)
	ListTenantsOf(ctx context.Context, userID int64, f models.TenantFilter) ([]models.MemberTenant, error)
	MemberStore
	InvitationStore
}

// tenantJSON is a tenant as the API shows it. Role is the caller's role
// in it, where the answer is about the caller's own tenants.
type tenantJSON struct {
	ID        int64           `json:"id"`
	Slug      string          `json:"slug"`
	Name      string          `json:"name"`
	IsActive  bool            `json:"is_active"`
	Settings  json.RawMessage `json:"settings"`
	CreatedAt time.Time       `json:"created_at"`
	Role      *string         `json:"role"`
}

func toTenantJSON(t *models.Tenant, role string) tenantJSON {
	out := tenantJSON{ID: t.ID, Slug: t.Slug, Name: t.Name, IsActive: t.IsActive, Settings: t.Settings, CreatedAt: t.CreatedAt}
	if len(out.Settings) == 0 {
		out.Settings = json.RawMessage("{}")
	}
	if role != "" {
		out.Role = &role
	}
	return out
}

// errTenantInactive answers the members of an inactive tenant.
var errTenantInactive = tenancy.ErrTenantInactive

// tenantScope is a request inside one tenant: the policy in force, the
// tenant, and the caller as a subject standing in it.
type tenantScope = tenancy.Scope

// asker is how the API decides inside a tenant: its counted decisions,
// and a refusal recorded in the tenant's trail and answered 403.
func (h *handler) asker(c *gin.Context) tenancy.Asker {
	return tenancy.Asker{Decide: h.decide, Deny: func(sc *tenancy.Scope, d models.Decision, res models.Resource, action string) error {
		h.recordTenantDeny(c, sc, d, res, action)
		return &deniedError{resource: res.Type, action: action, version: d.PolicyVersion}
	}}
}

// enterTenant resolves the :tenant path parameter (a slug or an id) and
// the caller's standing in it. A tenant that does not exist and one the
// caller may not read ("tenant, read") are the same 404, so that no one
// learns which tenants exist from outside them.
func (h *handler) enterTenant(c *gin.Context) (*tenantScope, error) {
	ctx := c.Request.Context()
	sc, d, err := h.asker(c).Enter(ctx, h.tenants, h.policies.Current(), subject(principal(ctx)), c.Param("tenant"))
	if d.PolicyVersion != "" {
		c.Header("X-Policy-Version", d.PolicyVersion)
	}
	if err == tenancy.ErrHidden {
		return nil, errNotFound
	}
	return sc, err
}

// authorizeIn is authorize for a question inside the scope's tenant.
func (h *handler) authorizeIn(c *gin.Context, sc *tenantScope, res models.Resource, action string) (models.Decision, error) {
	return h.asker(c).Authorize(sc, res, action)
}

// recordTenantDeny records a refusal inside a tenant, in its trail.
func (h *handler) recordTenantDeny(c *gin.Context, sc *tenantScope, d models.Decision, res models.Resource, action string) {
	h.record(c, models.AuditEvent{
		Action: models.AuditDecisionDeny, Result: models.AuditDeny, Target: tenancy.Target(sc.Tenant), TenantID: sc.Tenant.ID,
		PolicyVersion: d.PolicyVersion, Detail: map[string]any{"resource": res.Type, "action": action},
	})
}

// recordTenantChange records a change allowed by d in the scope's tenant.
func (h *handler) recordTenantChange(c *gin.Context, t *models.Tenant, d models.Decision, action, target string, detail map[string]any) {
	h.record(c, models.AuditEvent{
		Action: action, Result: models.AuditSuccess, Target: target, TenantID: t.ID,
		Rule: ruleText(d), PolicyVersion: d.PolicyVersion, Detail: viaDetail(d, detail),
	})
}

type createTenantInput struct {
	Slug     *string         `json:"slug"`
	Name     *string         `json:"name"`
	Settings json.RawMessage `json:"settings"`
}

// createTenant creates a tenant whose owner is the caller: the creator
// gets ROLEGATE_TENANT_CREATOR_ROLE, which the policy must make an owner.
func (h *handler) createTenant(c *gin.Context) error {
	pol := h.policies.Current()
	d, err := h.authorize(c, pol, models.Resource{Type: models.ResourceTenants}, models.ActionCreate)
	if err != nil {
		return err
	}
	var in createTenantInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireFields(map[string]*string{"slug": in.Slug, "name": in.Name}); err != nil {
		return err
	}
	if err := pol.CheckTenantCreatorRole(h.tenantCreatorRole); err != nil {
		return models.Internal(err)
	}
	caller := principal(c.Request.Context())
	t := &models.Tenant{Slug: *in.Slug, Name: *in.Name, Settings: in.Settings, IsActive: true}
	t, err = h.tenants.CreateTenant(c.Request.Context(), t, caller.ID, h.tenantCreatorRole)
	if err != nil {
		return err
	}
	h.recordTenantChange(c, t, d, models.AuditTenantCreate, tenancy.Target(t), map[string]any{
		"after": tenancy.TenantDetail(t), "owner": map[string]any{"user_id": caller.ID, "role": h.tenantCreatorRole},
	})
	c.JSON(http.StatusCreated, toTenantJSON(t, h.tenantCreatorRole))
	return nil
}

// listTenants lists the caller's tenants with their role in each or, with
// ?all=true, every tenant, for those the policy lets list them.
func (h *handler) listTenants(c *gin.Context) error {
	q := c.Request.URL.Query()
	bad := fieldErrors{}
	limit, after := pageParams(q, bad)
	all := false
	if s := q.Get("all"); s != "" {
		var err error
		if all, err = strconv.ParseBool(s); err != nil {
			bad.add("all", "Must be a valid boolean.")
		}
	}
	if err := bad.err(); err != nil {
		return err
	}
	f := models.TenantFilter{AfterID: after, Limit: limit + 1}
	if all {
		return h.listAllTenants(c, f, limit)
	}
	mine, err := h.tenants.ListTenantsOf(c.Request.Context(), principal(c.Request.Context()).ID, f)
	if err != nil {
		return err
	}
	mine, next := page(h.publicURL, c.Request, mine, limit, func(t models.MemberTenant) string { return encodeCursor(t.ID) })
	results := make([]tenantJSON, len(mine))
	for i := range mine {
		results[i] = toTenantJSON(&mine[i].Tenant, mine[i].Role)
	}
	c.JSON(http.StatusOK, gin.H{"results": results, "next": next})
	return nil
}

func (h *handler) listAllTenants(c *gin.Context, f models.TenantFilter, limit int) error {
	if _, err := h.authorize(c, h.policies.Current(), models.Resource{Type: models.ResourceTenants}, models.ActionList); err != nil {
		return err
	}
	all, err := h.tenants.ListTenants(c.Request.Context(), f)
	if err != nil {
		return err
	}
	all, next := page(h.publicURL, c.Request, all, limit, func(t *models.Tenant) string { return encodeCursor(t.ID) })
	results := make([]tenantJSON, len(all))
	for i, t := range all {
		results[i] = toTenantJSON(t, "")
	}
	c.JSON(http.StatusOK, gin.H{"results": results, "next": next})
	return nil
}

func (h *handler) getTenant(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toTenantJSON(sc.Tenant, sc.Sub.Tenant.Role))
	return nil
}

type updateTenantInput struct {
	Name     *string         `json:"name"`
	Settings json.RawMessage `json:"settings"`
	IsActive *bool           `json:"is_active"`
}

// updateTenant changes a tenant's name and settings ("tenant, update").
// Changing its active flag is deleting-level ("tenant, delete"): an
// inactive tenant refuses its own members, so only the system layer can
// make it active again.
func (h *handler) updateTenant(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	d, err := h.authorizeIn(c, sc, models.Resource{Type: models.ResourceTenant}, models.ActionUpdate)
	if err != nil {
		return err
	}
	var in updateTenantInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := h.asker(c).AuthorizeActiveChange(sc, in.IsActive); err != nil {
		return err
	}
	change, err := h.tenants.UpdateTenant(c.Request.Context(), sc.Tenant.ID, models.TenantPatch{Name: in.Name, Settings: in.Settings, IsActive: in.IsActive})
	if err != nil {
		return err
	}
	if detail, changed := tenancy.TenantUpdateAudit(change); changed {
		h.recordTenantChange(c, change.After, d, models.AuditTenantUpdate, tenancy.Target(change.After), detail)
	}
	c.JSON(http.StatusOK, toTenantJSON(change.After, sc.Sub.Tenant.Role))
	return nil
}

func (h *handler) deleteTenant(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	d, err := h.authorizeIn(c, sc, models.Resource{Type: models.ResourceTenant}, models.ActionDelete)
	if err != nil {
		return err
	}
	before, err := h.tenants.DeleteTenant(c.Request.Context(), sc.Tenant.ID)
	if err != nil {
		return err
	}
	h.recordTenantChange(c, before, d, models.AuditTenantDelete, tenancy.Target(before), map[string]any{"before": tenancy.TenantDetail(before)})
	c.Status(http.StatusNoContent)
	return nil
}

// tenantAudit pages through one tenant's audit trail, as GET /v1/audit
// does the whole one, for those the policy lets read it
// ("tenant_audit, read").
func (h *handler) tenantAudit(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	if _, err := h.authorizeIn(c, sc, models.Resource{Type: models.ResourceTenantAudit}, models.ActionRead); err != nil {
		return err
	}
	f, err := auditFilter(c.Request.URL.Query())
	if err != nil {
		return err
	}
	f.TenantID = sc.Tenant.ID
	return h.writeAuditPage(c, f)
}
