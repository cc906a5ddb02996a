package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// memberRow is the tenant_members table.
type memberRow struct {
	TenantID  int64 `gorm:"primaryKey;autoIncrement:false"`
	UserID    int64 `gorm:"primaryKey;autoIncrement:false"`
	Role      string
	IsActive  bool
	CreatedAt time.Time
	InvitedBy *int64
}

func (memberRow) TableName() string { return "tenant_members" }

func (r *memberRow) model() *models.Membership {
	m := &models.Membership{TenantID: r.TenantID, UserID: r.UserID, Role: r.Role, IsActive: r.IsActive, CreatedAt: r.CreatedAt.UTC()}
	if r.InvitedBy != nil {
		m.InvitedBy = *r.InvitedBy
	}
	return m
}

// errNoSuchUser refuses a membership for a user who does not exist.
var errNoSuchUser = models.Errorf(models.ENOTFOUND, "No such user.")

// errLastOwner refuses a change that would leave a tenant without an
// active owner.
var errLastOwner = &models.Error{Code: models.ECONFLICT, Reason: "last_owner",
	Message: "This is the tenant's last active owner; it cannot be removed, demoted or deactivated, and cannot leave."}

// insertMember stores a new membership. Returns ENOTFOUND if the user
// does not exist.
func insertMember(tx *gorm.DB, m *memberRow) error {
	m.CreatedAt = timestamp(m.CreatedAt)
	if err := tx.Create(m).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return errNoSuchUser
		}
		return err
	}
	return nil
}

// MemberOf returns user userID's membership of tenant tenantID, active or
// not, or ENOTFOUND.
func (s *Store) MemberOf(ctx context.Context, tenantID, userID int64) (*models.Membership, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var row memberRow
	if err := db.Where("tenant_id = ? AND user_id = ?", tenantID, userID).Take(&row).Error; err != nil {
		return nil, dbError(err)
	}
	return row.model(), nil
}

// PutMember makes user userID a member of tenant tenantID, or changes
// their membership, as patch says, and returns it before and after.
// check, unless nil, decides on the membership as locked by the write (nil
// for a new member) before anything is written; its error is returned as
// it is. Returns ENOTFOUND for a missing tenant or user, EINVALID for a
// new member without a role, and ECONFLICT when the change would leave the
// tenant without an active member holding a role in guard.
func (s *Store) PutMember(ctx context.Context, tenantID, userID int64, patch models.MemberPatch, guard models.TenantGuard, check models.MemberCheck) (models.MemberChange, error) {
	var change models.MemberChange
	// Dropped after the commit (or the rollback): see userCache.
	defer s.users.invalidate(userID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		before, err := s.lockMember(tx, tenantID, userID)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(before, activeRoleIn(tx, tenantID)); err != nil {
				return err
			}
		}
		after, err := applyMemberPatch(before, tenantID, userID, patch)
		if err != nil {
			return err
		}
		if before != nil && guard.Protects(before.Role, before.IsActive) && !guard.Protects(after.Role, after.IsActive) {
			if err := ensureAnotherOwner(tx, guard, tenantID, userID); err != nil {
				return err
			}
		}
		if err := saveMember(tx, before, after); err != nil {
			return err
		}
		change = models.MemberChange{Before: before, After: after}
		return s.notifyUsers(tx, userID)
	})
	if err != nil {
		return models.MemberChange{}, dbError(err)
	}
	return change, nil
}

// applyMemberPatch returns the membership patch makes of before (nil for
// a new one).
func applyMemberPatch(before *models.Membership, tenantID, userID int64, patch models.MemberPatch) (*models.Membership, error) {
	var after models.Membership
	if before != nil {
		after = *before
	} else {
		if patch.Role == nil || *patch.Role == "" {
			return nil, models.FieldError("role", "This field is required.")
		}
		after = models.Membership{TenantID: tenantID, UserID: userID, IsActive: true, CreatedAt: timestamp(time.Now()), InvitedBy: patch.InvitedBy}
	}
	if patch.Role != nil {
		after.Role = *patch.Role
	}
	if patch.IsActive != nil {
		after.IsActive = *patch.IsActive
	}
	return &after, nil
}

// saveMember writes after, the new state of the membership before (nil
// for a new one).
func saveMember(tx *gorm.DB, before, after *models.Membership) error {
	if before == nil {
		row := memberRow{TenantID: after.TenantID, UserID: after.UserID, Role: after.Role, IsActive: after.IsActive, CreatedAt: after.CreatedAt}
		if after.InvitedBy != 0 {
			row.InvitedBy = &after.InvitedBy
		}
		return insertMember(tx, &row)
	}
	return tx.Model(&memberRow{}).Where("tenant_id = ? AND user_id = ?", after.TenantID, after.UserID).
		Updates(map[string]any{"role": after.Role, "is_active": after.IsActive}).Error
}

// RemoveMember removes user userID from tenant tenantID and returns the
// membership as it was. check, unless nil, decides on the membership as
// locked by the write. Returns ENOTFOUND if there is no such membership,
// ECONFLICT when it is the tenant's last active one holding a role in
// guard, or check's error as it is.
func (s *Store) RemoveMember(ctx context.Context, tenantID, userID int64, guard models.TenantGuard, check models.MemberCheck) (*models.Membership, error) {
	var before *models.Membership
	defer s.users.invalidate(userID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if before, err = s.lockMember(tx, tenantID, userID); err != nil {
			return err
		}
		if before == nil {
			return models.Errorf(models.ENOTFOUND, "Not found.")
		}
		if check != nil {
			if err := check(before, activeRoleIn(tx, tenantID)); err != nil {
				return err
			}
		}
		if guard.Protects(before.Role, before.IsActive) {
			if err := ensureAnotherOwner(tx, guard, tenantID, userID); err != nil {
				return err
			}
		}
		if err := tx.Where("tenant_id = ? AND user_id = ?", tenantID, userID).Delete(&memberRow{}).Error; err != nil {
			return err
		}
		return s.notifyUsers(tx, userID)
	})
	if err != nil {
		return nil, dbError(err)
	}
	return before, nil
}

// lockMember locks tenant tenantID (see lockTenant) and returns user
// userID's membership of it, nil if there is none. Returns ENOTFOUND if
// the tenant does not exist.
func (s *Store) lockMember(tx *gorm.DB, tenantID, userID int64) (*models.Membership, error) {
	if _, err := s.lockTenant(tx, tenantID); err != nil {
		return nil, err
	}
	var rows []memberRow
	if err := tx.Where("tenant_id = ? AND user_id = ?", tenantID, userID).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return rows[0].model(), nil
}

// activeRoleIn returns a function that reads a user's active role in
// tenant tenantID in tx ("" for none), for MemberCheck.
func activeRoleIn(tx *gorm.DB, tenantID int64) func(int64) (string, error) {
	return func(userID int64) (string, error) {
		var roles []string
		err := tx.Model(&memberRow{}).Where("tenant_id = ? AND user_id = ? AND is_active = ?", tenantID, userID, true).
			Limit(1).Pluck("role", &roles).Error
		if err != nil || len(roles) == 0 {
			return "", err
		}
		return roles[0], nil
	}
}

// ensureAnotherOwner returns errLastOwner unless tenant tenantID has an
// active member other than except holding a role in guard. The caller
// holds the tenant's lock.
func ensureAnotherOwner(tx *gorm.DB, guard models.TenantGuard, tenantID, except int64) error {
	var n int64
	err := tx.Model(&memberRow{}).Where("tenant_id = ? AND role IN ? AND is_active = ? AND user_id <> ?",
		tenantID, guard.Roles, true, except).Count(&n).Error
	if err != nil {
		return err
	}
	if n == 0 {
		return errLastOwner
	}
	return nil
}

// lockOwnedTenants locks, in id order, each tenant in which user id holds
// an active owner-like role and that is not in locked yet, and returns
// locked with them added. DeleteUser takes these locks before the user's
// row, in the order membership writes take theirs (the tenant first), so
// that the two never wait for each other.
func (s *Store) lockOwnedTenants(tx *gorm.DB, owners models.TenantGuard, id int64, locked []int64) ([]int64, error) {
	if len(owners.Roles) == 0 {
		return locked, nil
	}
	var tenants []int64
	err := tx.Model(&memberRow{}).Where("user_id = ? AND role IN ? AND is_active = ?", id, owners.Roles, true).
		Order("tenant_id").Pluck("tenant_id", &tenants).Error
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if slices.Contains(locked, t) {
			continue
		}
		if _, err := s.lockTenant(tx, t); err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, err
		}
		locked = append(locked, t)
	}
	return locked, nil
}

// keepTenantOwners refuses to delete user id while it is the last active
// owner of a tenant. It reads the user's owner memberships again, under
// the locks lockOwnedTenants took (and takes any it missed: a role given
// meanwhile), and counts each tenant's other active owners.
func (s *Store) keepTenantOwners(tx *gorm.DB, owners models.TenantGuard, id int64, locked []int64) error {
	locked, err := s.lockOwnedTenants(tx, owners, id, locked)
	if err != nil {
		return err
	}
	for _, t := range locked {
		err := ensureAnotherOwner(tx, owners, t, id)
		if errors.Is(err, errLastOwner) {
			var still int64
			if err := tx.Model(&memberRow{}).Where("tenant_id = ? AND user_id = ? AND role IN ? AND is_active = ?", t, id, owners.Roles, true).Count(&still).Error; err != nil {
				return err
			}
			if still == 0 {
				continue // no longer an owner there
			}
			var slugs []string
			if err := tx.Model(&tenantRow{}).Where("id = ?", t).Pluck("slug", &slugs).Error; err != nil {
				return err
			}
			return &models.Error{Code: models.ECONFLICT, Reason: "last_owner",
				Message: fmt.Sprintf("This user is the last active owner of tenant %q; give it another owner, or delete it, first.", strings.Join(slugs, ""))}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// memberListRow is one row of ListMembers' query.
type memberListRow struct {
	TenantID  int64
	UserID    int64
	Role      string
	IsActive  bool
	CreatedAt time.Time
	InvitedBy *int64
	Username  string
	Email     string
	FirstName string
	LastName  string
}

// ListMembers returns up to f.Limit members of tenant tenantID matching
// f, active or not, with their accounts, in ascending user id order,
// starting after f.AfterUserID.
func (s *Store) ListMembers(ctx context.Context, tenantID int64, f models.MemberFilter) ([]*models.Membership, error) {
	if f.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	if matchesNothing(f.Search) || matchesNothing(f.Role) {
		return []*models.Membership{}, nil
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	q := db.Table("tenant_members AS m").Joins("JOIN users AS u ON u.id = m.user_id").
		Select("m.tenant_id, m.user_id, m.role, m.is_active, m.created_at, m.invited_by, u.username, u.email, u.first_name, u.last_name").
		Where("m.tenant_id = ? AND m.user_id > ?", tenantID, f.AfterUserID)
	if f.Role != "" {
		q = q.Where("m.role = ?", f.Role)
	}
	if f.Search != "" {
		pattern := searchPattern(f.Search)
		q = q.Where(`(u.username_key LIKE ? ESCAPE '\' OR LOWER(u.email) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	var rows []memberListRow
	if err := q.Order("m.user_id").Limit(f.Limit).Scan(&rows).Error; err != nil {
		return nil, dbError(err)
	}
	out := make([]*models.Membership, len(rows))
	for i := range rows {
		r := rows[i]
		m := (&memberRow{TenantID: r.TenantID, UserID: r.UserID, Role: r.Role, IsActive: r.IsActive, CreatedAt: r.CreatedAt, InvitedBy: r.InvitedBy}).model()
		m.User = &models.User{ID: m.UserID, Username: rows[i].Username, Email: rows[i].Email, FirstName: rows[i].FirstName, LastName: rows[i].LastName}
		out[i] = m
	}
	return out, nil
}
