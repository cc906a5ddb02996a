package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// tenantSort is one of models.TenantOrders as SQL, like userSort: the
// column, its direction, and the id that breaks ties.
func tenantSort(order string) userSort {
	s := userSort{column: strings.TrimPrefix(order, "-"), desc: strings.HasPrefix(order, "-")}
	switch s.column {
	case "name", "slug":
	case "created":
		s.column = "created_at"
	default:
		s.column = "id"
	}
	return s
}

// filterTenants applies q's filters: the search matches a substring of
// the name (in any case) or of the slug.
func filterTenants(db *gorm.DB, q models.TenantQuery) *gorm.DB {
	db = db.Model(&tenantRow{})
	if q.IsActive != nil {
		db = db.Where("is_active = ?", *q.IsActive)
	}
	if q.Search != "" {
		pattern := "%" + escapeLike(strings.ToLower(q.Search)) + "%"
		db = db.Where(`(LOWER(name) LIKE ? ESCAPE '\' OR slug LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	return db
}

// afterTenant restricts db to the tenants past the cursor in the order.
func afterTenant(db *gorm.DB, s userSort, c *models.TenantCursor) *gorm.DB {
	op := s.cmp()
	switch s.column {
	case "id":
		return db.Where("id "+op+" ?", c.ID)
	case "created_at":
		var t any
		if c.Time != nil {
			t = timestamp(*c.Time)
		}
		return db.Where("(created_at, id) "+op+" (?, ?)", t, c.ID)
	}
	return db.Where("("+s.column+", id) "+op+" (?, ?)", c.Key, c.ID)
}

// QueryTenants returns up to q.Limit tenants matching q's filters, in q's
// order, after q's cursor: the console's list.
func (s *Store) QueryTenants(ctx context.Context, q models.TenantQuery) ([]*models.Tenant, error) {
	if q.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	if matchesNothing(q.Search) {
		return []*models.Tenant{}, nil
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	srt := tenantSort(q.Order)
	tx := filterTenants(db, q)
	if q.After != nil {
		tx = afterTenant(tx, srt, q.After)
	}
	var rows []tenantRow
	if err := tx.Order(srt.orderBy()).Limit(q.Limit).Find(&rows).Error; err != nil {
		return nil, dbError(err)
	}
	out := make([]*models.Tenant, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// CountTenantsMatching counts the tenants matching q's filters, whatever its
// cursor, but stops past atMost and then returns atMost+1, as CountUsers.
func (s *Store) CountTenantsMatching(ctx context.Context, q models.TenantQuery, atMost int64) (int64, error) {
	if matchesNothing(q.Search) {
		return 0, nil
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var n int64
	sub := filterTenants(db, q).Select("1").Limit(int(atMost + 1))
	err := db.Table("(?) AS matching", sub).Count(&n).Error
	return n, dbError(err)
}
