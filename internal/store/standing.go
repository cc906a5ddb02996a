package store

import (
	"context"
	"time"

	"github.com/rolegate/rolegate/models"
)

// standingQuery reads a user's standing in one tenant in one round trip,
// on the primary key of tenant_members and the (user_id, tenant_id,
// expires_at) index of break_glass_grants. MAX picks "write" over "read"
// when both grants are active.
const standingQuery = `SELECT
	(SELECT role FROM tenant_members WHERE tenant_id = ? AND user_id = ? AND is_active = ?) AS role,
	(SELECT MAX(mode) FROM break_glass_grants
		WHERE user_id = ? AND tenant_id = ? AND expires_at > ? AND ended_at IS NULL) AS break_glass`

// TenantStanding returns user userID's standing in tenant tenantID: the
// role of their active membership ("" if they have none, or only an
// inactive one) and the mode of their active break-glass grant ("" if
// none; write wins over read). It does not check that the tenant exists.
func (s *Store) TenantStanding(ctx context.Context, tenantID, userID int64) (models.TenantContext, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var row struct {
		Role       *string
		BreakGlass *string
	}
	now := timestamp(time.Now())
	if err := db.Raw(standingQuery, tenantID, userID, true, userID, tenantID, now).Scan(&row).Error; err != nil {
		return models.TenantContext{}, dbError(err)
	}
	tc := models.TenantContext{TenantID: tenantID}
	if row.Role != nil {
		tc.Role = *row.Role
	}
	if row.BreakGlass != nil {
		tc.BreakGlass = *row.BreakGlass
	}
	return tc, nil
}

// TenantAccess is TenantByRef and TenantStanding together, for the
// decision path (POST /v1/authz/check with a tenant, forward auth): the
// tenant that ref names, without its settings, and user userID's standing
// in it. Both are cached beside the user in the user cache, so that a
// decision inside a tenant costs no query while the user is cached. Every
// membership change drops its user (notifyUsers, on every replica), and
// every change to a tenant empties the cache (notifyEveryUser), so the
// answer is never older than the last change this replica made or was
// notified of, nor than the cache's TTL. An active break-glass grant that
// ends by itself may be served for up to that TTL after it ends. Returns
// ENOTFOUND, which is never cached.
func (s *Store) TenantAccess(ctx context.Context, ref string, userID int64) (*models.Tenant, models.TenantContext, error) {
	a, gen, ok := s.users.getAccess(userID, ref)
	if ok {
		t := a.tenant
		return &t, a.standing, nil
	}
	t, err := s.TenantByRef(ctx, ref)
	if err != nil {
		return nil, models.TenantContext{}, err
	}
	standing, err := s.TenantStanding(ctx, t.ID, userID)
	if err != nil {
		return nil, models.TenantContext{}, err
	}
	t.Settings = nil
	s.users.putAccess(userID, ref, cachedAccess{tenant: *t, standing: standing}, gen)
	return t, standing, nil
}
