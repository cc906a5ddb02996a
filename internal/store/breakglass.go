package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// breakGlassRow is the break_glass_grants table.
type breakGlassRow struct {
	ID        int64 `gorm:"primaryKey"`
	TenantID  int64
	UserID    int64
	Mode      string
	Reason    string
	CreatedAt time.Time
	ExpiresAt time.Time
	EndedAt   *time.Time
	EndedBy   *int64
}

func (breakGlassRow) TableName() string { return "break_glass_grants" }

func (r *breakGlassRow) model() *models.BreakGlassGrant {
	g := &models.BreakGlassGrant{
		ID: r.ID, TenantID: r.TenantID, UserID: r.UserID, Mode: r.Mode, Reason: r.Reason,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
	if r.EndedAt != nil {
		t := r.EndedAt.UTC()
		g.EndedAt = &t
	}
	if r.EndedBy != nil {
		g.EndedBy = *r.EndedBy
	}
	return g
}

// StartBreakGlass gives user userID access to tenant tenantID in req's
// mode for req's minutes from now, and returns the grant with the ones it
// replaced: a user holds at most one active grant per tenant, so asking
// again (for read after write, say) ends the earlier one, also when two
// requests race. Returns
// ENOTFOUND if the tenant or the user is gone.
func (s *Store) StartBreakGlass(ctx context.Context, tenantID, userID int64, req models.BreakGlassRequest) (*models.BreakGlassGrant, []*models.BreakGlassGrant, error) {
	now := timestamp(time.Now())
	row := &breakGlassRow{
		TenantID: tenantID, UserID: userID, Mode: req.Mode, Reason: req.Reason,
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(req.Minutes) * time.Minute),
	}
	var replaced []*models.BreakGlassGrant
	defer s.users.invalidate(userID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// The holder's row, locked, serializes their grants: two requests
		// at once cannot both find no active grant and both add one.
		if _, err := lockUser(tx, userID); err != nil {
			return err
		}
		var err error
		if replaced, err = endActiveGrants(tx, tenantID, userID, userID, now); err != nil {
			return err
		}
		if err := tx.Create(row).Error; err != nil {
			if errors.Is(err, gorm.ErrForeignKeyViolated) {
				return gorm.ErrRecordNotFound
			}
			return err
		}
		return s.notifyUsers(tx, userID)
	})
	if err != nil {
		return nil, nil, dbError(err)
	}
	return row.model(), replaced, nil
}

// EndBreakGlass ends user userID's active grant on tenant tenantID now,
// recording by as who ended it, and returns it as ended. Returns
// ENOTFOUND if the user holds no active grant there.
func (s *Store) EndBreakGlass(ctx context.Context, tenantID, userID, by int64) (*models.BreakGlassGrant, error) {
	var ended []*models.BreakGlassGrant
	defer s.users.invalidate(userID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if ended, err = endActiveGrants(tx, tenantID, userID, by, timestamp(time.Now())); err != nil {
			return err
		}
		if len(ended) == 0 {
			return gorm.ErrRecordNotFound
		}
		return s.notifyUsers(tx, userID)
	})
	if err != nil {
		return nil, dbError(err)
	}
	return ended[len(ended)-1], nil
}

// endActiveGrants ends, at now, every grant of userID on tenantID that is
// active at now, and returns them as ended, oldest first.
func endActiveGrants(tx *gorm.DB, tenantID, userID, by int64, now time.Time) ([]*models.BreakGlassGrant, error) {
	var rows []breakGlassRow
	err := tx.Raw(`UPDATE break_glass_grants SET ended_at = ?, ended_by = ?
		WHERE user_id = ? AND tenant_id = ? AND expires_at > ? AND ended_at IS NULL
		RETURNING id, tenant_id, user_id, mode, reason, created_at, expires_at, ended_at, ended_by`,
		now, by, userID, tenantID, now).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]*models.BreakGlassGrant, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	slices.SortFunc(out, func(a, b *models.BreakGlassGrant) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
