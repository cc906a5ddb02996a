package store

import (
	"context"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// tenantViewSelect reads a tenant and one user's standing in it in one
// round trip: the decision API asks this on every question about a
// tenant, where TenantByRef and then TenantStanding would take two. The
// caller adds the WHERE clause. The settings are not read: no decision
// needs them.
const tenantViewSelect = `SELECT t.id, t.slug, t.name, t.is_active, t.created_at,
	(SELECT role FROM tenant_members WHERE tenant_id = t.id AND user_id = ? AND is_active = ?) AS role,
	(SELECT MAX(mode) FROM break_glass_grants
		WHERE user_id = ? AND tenant_id = t.id AND expires_at > ? AND ended_at IS NULL) AS break_glass
	FROM tenants t `

// tenantViewRow is one row of tenantViewSelect.
type tenantViewRow struct {
	ID         int64
	Slug       string
	Name       string
	IsActive   bool
	CreatedAt  time.Time
	Role       *string
	BreakGlass *string
}

// TenantStandingByRef is TenantByRef and TenantStanding in one query: the
// tenant ref names (a slug, or a decimal id; a slug wins when both match),
// without its settings, and user userID's standing in it (0 for nobody:
// no standing). Returns ENOTFOUND if no tenant matches.
func (s *Store) TenantStandingByRef(ctx context.Context, ref string, userID int64) (*models.Tenant, models.TenantContext, error) {
	if matchesNothing(ref) {
		return nil, models.TenantContext{}, dbError(gorm.ErrRecordNotFound)
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	args := []any{userID, true, userID, timestamp(time.Now()), ref}
	where := "WHERE t.slug = ?"
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		where = "WHERE t.slug = ? OR t.id = ? ORDER BY CASE WHEN t.slug = ? THEN 0 ELSE 1 END"
		args = append(args, id, ref)
	}
	var rows []tenantViewRow
	if err := db.Raw(tenantViewSelect+where+" LIMIT 1", args...).Scan(&rows).Error; err != nil {
		return nil, models.TenantContext{}, dbError(err)
	}
	if len(rows) == 0 {
		return nil, models.TenantContext{}, dbError(gorm.ErrRecordNotFound)
	}
	r := rows[0]
	t := &models.Tenant{ID: r.ID, Slug: r.Slug, Name: r.Name, IsActive: r.IsActive, CreatedAt: r.CreatedAt.UTC()}
	standing := models.TenantContext{TenantID: r.ID}
	if r.Role != nil {
		standing.Role = *r.Role
	}
	if r.BreakGlass != nil {
		standing.BreakGlass = *r.BreakGlass
	}
	return t, standing, nil
}
