package httpapi

import (
	"context"

	"github.com/rolegate/rolegate/models"
)

// This file holds what the tenant routes (wt-tenants) will define, as far
// as the decision API needs it until they land.

// TenantStore reads tenants and a user's standing in one.
type TenantStore interface {
	// TenantByRef finds a tenant by slug, or by decimal id; ENOTFOUND if
	// none.
	TenantByRef(ctx context.Context, ref string) (*models.Tenant, error)
	// TenantStanding returns a user's active membership role and
	// break-glass mode in a tenant, "" for none.
	TenantStanding(ctx context.Context, tenantID, userID int64) (models.TenantContext, error)
}

// errTenantInactive answers the members of an inactive tenant.
var errTenantInactive = &models.Error{Code: models.EFORBIDDEN, Reason: "tenant_inactive", Message: "This tenant is inactive."}
