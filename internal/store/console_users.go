package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// userSort is one of models.UserOrders as SQL: the column, and whether it
// descends. Every order ends with the id, so that the order is total and a
// cursor names one place in it.
type userSort struct {
	column string
	desc   bool
}

func sortOf(order string) userSort {
	s := userSort{column: strings.TrimPrefix(order, "-"), desc: strings.HasPrefix(order, "-")}
	switch s.column {
	case "username":
		s.column = "username_key"
	case "date_joined", "last_login":
	default:
		s.column = "id"
	}
	return s
}

func (s userSort) dir() string {
	if s.desc {
		return "DESC"
	}
	return "ASC"
}

func (s userSort) cmp() string {
	if s.desc {
		return "<"
	}
	return ">"
}

// orderBy is the ORDER BY of the sort, which the indexes on (column, id)
// serve in either direction.
func (s userSort) orderBy() string {
	if s.column == "id" {
		return "id " + s.dir()
	}
	return s.column + " " + s.dir() + ", id " + s.dir()
}

// after restricts q to the users past the cursor in the sort's order.
func (s userSort) after(q *gorm.DB, c *models.UserCursor) *gorm.DB {
	op := s.cmp()
	switch s.column {
	case "id":
		return q.Where("id "+op+" ?", c.ID)
	case "username_key":
		return q.Where("(username_key, id) "+op+" (?, ?)", c.Username, c.ID)
	}
	var t any
	if c.Time != nil {
		t = timestamp(*c.Time)
	}
	return q.Where("("+s.column+", id) "+op+" (?, ?)", t, c.ID)
}

// filterUsers applies q's filters, the same as ListUsers's.
func filterUsers(db *gorm.DB, q models.UserQuery) *gorm.DB {
	db = db.Model(&userRow{})
	if q.Role != nil {
		db = db.Where("role = ?", *q.Role)
	}
	if q.IsActive != nil {
		db = db.Where("is_active = ?", *q.IsActive)
	}
	if q.Search != "" {
		pattern := searchPattern(q.Search)
		db = db.Where(`(username_key LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	// Membership filters are EXISTS on the membership tables' primary
	// keys, (user_id, group_name) and (tenant_id, user_id): one index
	// probe per user the order visits, whatever the group's size.
	if q.Group != "" {
		db = db.Where("EXISTS (SELECT 1 FROM user_groups g WHERE g.user_id = users.id AND g.group_name = ?)", q.Group)
	}
	if q.TenantID != 0 {
		db = db.Where("EXISTS (SELECT 1 FROM tenant_members m WHERE m.tenant_id = ? AND m.user_id = users.id)", q.TenantID)
	}
	return db
}

// queryMatchesNothing reports whether q's text filters hold a NUL, which
// no stored value does (and PostgreSQL refuses in a parameter).
func queryMatchesNothing(q models.UserQuery) bool {
	return matchesNothing(q.Search) || matchesNothing(q.Group) || q.Role != nil && matchesNothing(*q.Role)
}

// QueryUsers returns up to q.Limit users matching q's filters, in q's
// order, after q's cursor: the console's list. The cursor's username is
// the username's key (account.UsernameKey), as the order uses it.
func (s *Store) QueryUsers(ctx context.Context, q models.UserQuery) ([]*models.User, error) {
	if q.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	if queryMatchesNothing(q) {
		return []*models.User{}, nil
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	srt := sortOf(q.Order)
	var rows []userRow
	var err error
	if srt.column == "last_login" {
		rows, err = usersByLastLogin(db, q, srt)
	} else {
		tx := filterUsers(db, q).Omit("password_hash", "account_key")
		if q.After != nil {
			tx = srt.after(tx, q.After)
		}
		err = tx.Order(srt.orderBy()).Limit(q.Limit).Find(&rows).Error
	}
	if err != nil {
		return nil, dbError(err)
	}
	out := make([]*models.User, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// usersByLastLogin is the order by last login, users who never logged in
// last in both directions (the databases order NULL differently): the
// users who did, then, if the page is not full, those who did not, by id.
// Each part is one index range, where a single ORDER BY on
// "last_login IS NULL" would sort the whole match.
func usersByLastLogin(db *gorm.DB, q models.UserQuery, srt userSort) ([]userRow, error) {
	var rows []userRow
	op := srt.cmp()
	if q.After == nil || q.After.Time != nil {
		tx := filterUsers(db, q).Omit("password_hash", "account_key").Where("last_login IS NOT NULL")
		if q.After != nil {
			tx = tx.Where("(last_login, id) "+op+" (?, ?)", timestamp(*q.After.Time), q.After.ID)
		}
		if err := tx.Order(srt.orderBy()).Limit(q.Limit).Find(&rows).Error; err != nil {
			return nil, err
		}
		if len(rows) == q.Limit {
			return rows, nil
		}
	}
	tx := filterUsers(db, q).Omit("password_hash", "account_key").Where("last_login IS NULL")
	if q.After != nil && q.After.Time == nil {
		tx = tx.Where("id "+op+" ?", q.After.ID)
	}
	var never []userRow
	if err := tx.Order("id " + srt.dir()).Limit(q.Limit - len(rows)).Find(&never).Error; err != nil {
		return nil, err
	}
	return append(rows, never...), nil
}

// CountUsers counts the users matching q's filters, whatever its cursor,
// but stops past atMost and then returns atMost+1: a count over a million
// rows would cost more than the page it is shown on.
func (s *Store) CountUsers(ctx context.Context, q models.UserQuery, atMost int64) (int64, error) {
	if queryMatchesNothing(q) {
		return 0, nil
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var n int64
	sub := filterUsers(db, q).Select("1").Limit(int(atMost + 1))
	err := db.Table("(?) AS matching", sub).Count(&n).Error
	return n, dbError(err)
}

// CountUsersByRole returns the number of users of each role, in all and
// active.
func (s *Store) CountUsersByRole(ctx context.Context) (models.UserCounts, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var rows []struct {
		Role     string
		IsActive bool
		N        int64
	}
	err := db.Model(&userRow{}).Select("role, is_active, COUNT(*) AS n").Group("role, is_active").Scan(&rows).Error
	if err != nil {
		return models.UserCounts{}, dbError(err)
	}
	out := models.UserCounts{ByRole: map[string]int64{}}
	for _, r := range rows {
		out.ByRole[r.Role] += r.N
		out.Total += r.N
		if r.IsActive {
			out.Active += r.N
		}
	}
	return out, nil
}

// CountTenants returns the dashboard's figures about tenants and their
// memberships.
func (s *Store) CountTenants(ctx context.Context) (models.TenantCounts, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var out models.TenantCounts
	err := db.Raw(`SELECT
		(SELECT COUNT(*) FROM tenants) AS tenants,
		(SELECT COUNT(*) FROM tenants WHERE is_active = ?) AS active_tenants,
		(SELECT COUNT(*) FROM tenant_members) AS memberships,
		(SELECT COUNT(*) FROM tenant_members WHERE is_active = ?) AS active_memberships`, true, true).Scan(&out).Error
	return out, dbError(err)
}
