package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// tenantRow is the tenants table.
type tenantRow struct {
	ID        int64 `gorm:"primaryKey"`
	Slug      string
	Name      string
	IsActive  bool
	Settings  string
	CreatedAt time.Time
}

func (tenantRow) TableName() string { return "tenants" }

func (r *tenantRow) model() *models.Tenant {
	return &models.Tenant{
		ID: r.ID, Slug: r.Slug, Name: r.Name, IsActive: r.IsActive,
		Settings: json.RawMessage(r.Settings), CreatedAt: r.CreatedAt.UTC(),
	}
}

func tenantRowOf(t *models.Tenant) *tenantRow {
	settings := string(t.Settings)
	if settings == "" {
		settings = "{}"
	}
	return &tenantRow{ID: t.ID, Slug: t.Slug, Name: t.Name, IsActive: t.IsActive, Settings: settings, CreatedAt: timestamp(t.CreatedAt)}
}

// errSlugTaken refuses a tenant whose slug another tenant has.
var errSlugTaken = &models.Error{Code: models.ECONFLICT, Reason: "slug_taken", Message: "A tenant with this slug already exists."}

// CreateTenant stores a new tenant and, unless ownerID is 0, makes user
// ownerID its member with ownerRole, in one transaction. CreatedAt is set
// to now when zero; an empty Settings is stored as {}. Returns EINVALID
// for a tenant that fails Validate, ECONFLICT if the slug is taken, and
// ENOTFOUND if the owner does not exist.
func (s *Store) CreateTenant(ctx context.Context, t *models.Tenant, ownerID int64, ownerRole string) (*models.Tenant, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	row := tenantRowOf(t)
	defer s.users.invalidate(ownerID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return errSlugTaken
			}
			return err
		}
		if ownerID == 0 {
			return nil
		}
		m := memberRow{TenantID: row.ID, UserID: ownerID, Role: ownerRole, IsActive: true, CreatedAt: row.CreatedAt}
		if err := insertMember(tx, &m); err != nil {
			return err
		}
		return s.notifyUsers(tx, ownerID)
	})
	if err != nil {
		return nil, dbError(err)
	}
	return row.model(), nil
}

// TenantByRef returns the tenant whose slug is ref or, failing that, whose
// id is ref in decimal. A slug may be all digits, so a ref that is both a
// slug and another tenant's id names the slug's tenant. Returns ENOTFOUND
// if there is none.
func (s *Store) TenantByRef(ctx context.Context, ref string) (*models.Tenant, error) {
	if matchesNothing(ref) {
		return nil, dbError(gorm.ErrRecordNotFound)
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var rows []tenantRow
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
		err = db.Raw(`SELECT id, slug, name, is_active, settings, created_at FROM tenants WHERE slug = ? OR id = ?
			ORDER BY CASE WHEN slug = ? THEN 0 ELSE 1 END LIMIT 1`, ref, id, ref).Scan(&rows).Error
	} else {
		err = db.Where("slug = ?", ref).Limit(1).Find(&rows).Error
	}
	if err != nil {
		return nil, dbError(err)
	}
	if len(rows) == 0 {
		return nil, dbError(gorm.ErrRecordNotFound)
	}
	return rows[0].model(), nil
}

// TenantByID returns tenant id, or ENOTFOUND.
func (s *Store) TenantByID(ctx context.Context, id int64) (*models.Tenant, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var row tenantRow
	if err := db.Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, dbError(err)
	}
	return row.model(), nil
}

// UpdateTenant applies patch to tenant id and returns it before and
// after, as the write's transaction saw it. Returns ENOTFOUND, or EINVALID
// if the result fails Validate.
func (s *Store) UpdateTenant(ctx context.Context, id int64, patch models.TenantPatch) (models.TenantChange, error) {
	var change models.TenantChange
	// Every cached access to the tenant goes, here and on every replica.
	defer s.users.clearAll()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		before, err := s.lockTenant(tx, id)
		if err != nil {
			return err
		}
		after := *before
		patch.Apply(&after)
		if err := after.Validate(); err != nil {
			return err
		}
		row := tenantRowOf(&after)
		cols := map[string]any{"name": row.Name, "settings": row.Settings, "is_active": row.IsActive}
		if err := tx.Model(&tenantRow{}).Where("id = ?", id).Updates(cols).Error; err != nil {
			return err
		}
		change = models.TenantChange{Before: before, After: row.model()}
		return s.notifyEveryUser(tx)
	})
	if err != nil {
		return models.TenantChange{}, dbError(err)
	}
	return change, nil
}

// DeleteTenant deletes tenant id with its memberships and invitations
// (the audit trail keeps them), and returns it as it was. Every cached
// access to it is dropped, here and on every replica. Returns ENOTFOUND.
func (s *Store) DeleteTenant(ctx context.Context, id int64) (*models.Tenant, error) {
	var before *models.Tenant
	defer s.users.clearAll()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if before, err = s.lockTenant(tx, id); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&tenantRow{}).Error; err != nil {
			return err
		}
		return s.notifyEveryUser(tx)
	})
	if err != nil {
		return nil, dbError(err)
	}
	return before, nil
}

// ListTenants returns up to f.Limit tenants in ascending id order,
// starting after f.AfterID.
func (s *Store) ListTenants(ctx context.Context, f models.TenantFilter) ([]*models.Tenant, error) {
	if f.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var rows []tenantRow
	if err := db.Where("id > ?", f.AfterID).Order("id").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, dbError(err)
	}
	out := make([]*models.Tenant, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// memberTenantRow is one row of ListTenantsOf's query.
type memberTenantRow struct {
	ID           int64
	Slug         string
	Name         string
	IsActive     bool
	Settings     string
	CreatedAt    time.Time
	Role         string
	MemberActive bool
}

// ListTenantsOf returns up to f.Limit of the tenants in which user userID
// holds an active membership (any, with f.WithInactive), with their role
// in each, in ascending tenant id order, starting after f.AfterID.
// Inactive tenants are listed too: their members see that they are
// inactive.
func (s *Store) ListTenantsOf(ctx context.Context, userID int64, f models.TenantFilter) ([]models.MemberTenant, error) {
	if f.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var rows []memberTenantRow
	err := db.Raw(`SELECT t.id, t.slug, t.name, t.is_active, t.settings, t.created_at, m.role, m.is_active AS member_active
		FROM tenant_members m JOIN tenants t ON t.id = m.tenant_id
		WHERE m.user_id = ? AND (m.is_active = ? OR ?) AND m.tenant_id > ?
		ORDER BY m.tenant_id LIMIT ?`, userID, true, f.WithInactive, f.AfterID, f.Limit).Scan(&rows).Error
	if err != nil {
		return nil, dbError(err)
	}
	out := make([]models.MemberTenant, len(rows))
	for i := range rows {
		r := rows[i]
		t := tenantRow{ID: r.ID, Slug: r.Slug, Name: r.Name, IsActive: r.IsActive, Settings: r.Settings, CreatedAt: r.CreatedAt}
		out[i] = models.MemberTenant{Tenant: *t.model(), Role: r.Role, MemberActive: r.MemberActive}
	}
	return out, nil
}

// lockTenant reads tenant id and locks its row until the transaction
// ends (on PostgreSQL; SQLite's writers are serialized already). Every
// write to a tenant's memberships takes this lock first, so that guards
// counting its owners decide on a state no other write is changing.
func (s *Store) lockTenant(tx *gorm.DB, id int64) (*models.Tenant, error) {
	var row tenantRow
	if err := s.dialect.locked(tx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, err
	}
	return row.model(), nil
}
