package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// ImportGroupMember puts a user in a group.
type ImportGroupMember struct {
	UserID int64
	Group  string
}

// ImportTenants stores tenants that keep their ids, such as Django
// "tenants.tenant" rows, in one transaction,
// and returns one outcome per tenant in order, as ImportUsers does for
// users: a tenant whose id and slug are already stored together is
// Unchanged and left as it is; one whose id or slug belongs to another
// tenant is Conflicted; the rest are inserted with multi-row INSERTs and
// Imported. Afterwards new tenants get ids above every stored one. The
// caller validates the tenants (models.Tenant.Validate) and keeps
// batches to a few thousand.
// Returns EUNAVAILABLE if the database fails.
func (s *Store) ImportTenants(ctx context.Context, tenants []*models.Tenant) ([]ImportOutcome, error) {
	out := make([]ImportOutcome, len(tenants))
	err := s.bulk(ctx, func(tx *gorm.DB) error {
		known, err := storedTenants(tx, tenants)
		if err != nil {
			return err
		}
		var fresh [][]any
		var top int64
		for i, t := range tenants {
			if out[i] = known.classify(t); out[i].Result == Imported {
				r := tenantRowOf(t)
				fresh = append(fresh, []any{r.ID, r.Slug, r.Name, r.IsActive, r.Settings, r.CreatedAt})
				top = max(top, t.ID)
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		if err := s.dialect.advanceIDs(tx, "tenants", top); err != nil {
			return err
		}
		inserted := map[int64]bool{}
		err = insertMany(tx, "tenants (id, slug, name, is_active, settings, created_at)", "id", fresh, func(r *sql.Rows) error {
			var id int64
			err := r.Scan(&id)
			inserted[id] = true
			return err
		})
		for i, t := range tenants {
			if out[i].Result == Imported && !inserted[t.ID] {
				out[i] = lostRace
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lostRace is the outcome of a row that a lookup found free but that
// another writer stored before the insert.
var lostRace = ImportOutcome{Conflicted, "the same row was written by someone else during the import"}

// tenantIdentities are the stored tenants sharing an id or a slug with a
// batch.
type tenantIdentities struct {
	slugByID map[int64]string
	idBySlug map[string]int64
}

func storedTenants(tx *gorm.DB, tenants []*models.Tenant) (tenantIdentities, error) {
	ids := make([]int64, len(tenants))
	slugs := make([]string, len(tenants))
	for i, t := range tenants {
		ids[i], slugs[i] = t.ID, t.Slug
	}
	var rows []struct {
		ID   int64
		Slug string
	}
	if err := tx.Raw("SELECT id, slug FROM tenants WHERE id IN ? OR slug IN ?", ids, slugs).Scan(&rows).Error; err != nil {
		return tenantIdentities{}, err
	}
	known := tenantIdentities{slugByID: map[int64]string{}, idBySlug: map[string]int64{}}
	for _, r := range rows {
		known.slugByID[r.ID], known.idBySlug[r.Slug] = r.Slug, r.ID
	}
	return known, nil
}

// classify says what becomes of t, and counts t as stored if it is to be
// inserted, so that a later tenant of the batch repeating it conflicts.
func (k tenantIdentities) classify(t *models.Tenant) ImportOutcome {
	id, slugTaken := k.idBySlug[t.Slug]
	slug, idTaken := k.slugByID[t.ID]
	switch {
	case slugTaken && id == t.ID:
		return ImportOutcome{Result: Unchanged}
	case slugTaken:
		return ImportOutcome{Conflicted, fmt.Sprintf("slug %q belongs to tenant %d", t.Slug, id)}
	case idTaken:
		return ImportOutcome{Conflicted, fmt.Sprintf("id %d belongs to tenant %q", t.ID, slug)}
	}
	k.idBySlug[t.Slug], k.slugByID[t.ID] = t.ID, t.Slug
	return ImportOutcome{Result: Imported}
}

// memberKey is a membership's key: a tenant id, or a group name, and a
// user id.
type memberKey struct {
	tenant int64
	group  string
	user   int64
}

// ImportMembers stores tenant memberships, such as Django
// "tenants.tenantuser" rows, in one transaction and returns
// one outcome per membership in order. A membership of a user in a tenant
// that is already stored is Unchanged and left as it is, whatever its
// role: an import never changes a membership. One naming a tenant or a
// user that does not exist is Conflicted. The rest are inserted with
// multi-row INSERTs and Imported, and every replica drops their users
// from its cache, so that the next request sees them.
// Returns EUNAVAILABLE if the database fails.
func (s *Store) ImportMembers(ctx context.Context, members []*models.Membership) ([]ImportOutcome, error) {
	out := make([]ImportOutcome, len(members))
	userIDs := make([]int64, len(members))
	tenantIDs := make([]int64, len(members))
	for i, m := range members {
		userIDs[i], tenantIDs[i] = m.UserID, m.TenantID
	}
	defer s.users.invalidate(userIDs...)
	err := s.bulk(ctx, func(tx *gorm.DB) error {
		users, err := existing(tx, "users", userIDs)
		if err != nil {
			return err
		}
		tenants, err := existing(tx, "tenants", tenantIDs)
		if err != nil {
			return err
		}
		stored, err := storedMembers(tx, "SELECT tenant_id, '', user_id FROM tenant_members WHERE user_id IN ?", userIDs)
		if err != nil {
			return err
		}
		var fresh [][]any
		for i, m := range members {
			key := memberKey{tenant: m.TenantID, user: m.UserID}
			switch {
			case !tenants[m.TenantID]:
				out[i] = ImportOutcome{Conflicted, fmt.Sprintf("there is no tenant %d", m.TenantID)}
			case !users[m.UserID]:
				out[i] = ImportOutcome{Conflicted, fmt.Sprintf("there is no user %d", m.UserID)}
			case stored[key]:
				out[i] = ImportOutcome{Result: Unchanged}
			default:
				stored[key] = true
				fresh = append(fresh, []any{m.TenantID, m.UserID, m.Role, m.IsActive, timestamp(m.CreatedAt)})
			}
		}
		inserted, err := s.insertMembers(tx, "tenant_members (tenant_id, user_id, role, is_active, created_at)", "tenant_id, '', user_id", fresh)
		for i, m := range members {
			if out[i].Result == Imported && !inserted[memberKey{tenant: m.TenantID, user: m.UserID}] {
				out[i] = lostRace
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ImportGroupMembers puts users in groups in one transaction and returns
// one outcome per membership in order: Unchanged when the user is in the
// group already, Conflicted when there is no such user, and Imported
// otherwise. Every replica drops the users it added from its cache.
// Returns EUNAVAILABLE if the database fails.
func (s *Store) ImportGroupMembers(ctx context.Context, members []ImportGroupMember) ([]ImportOutcome, error) {
	out := make([]ImportOutcome, len(members))
	userIDs := make([]int64, len(members))
	for i, m := range members {
		userIDs[i] = m.UserID
	}
	defer s.users.invalidate(userIDs...)
	now := timestamp(time.Now())
	err := s.bulk(ctx, func(tx *gorm.DB) error {
		users, err := existing(tx, "users", userIDs)
		if err != nil {
			return err
		}
		stored, err := storedMembers(tx, "SELECT 0, group_name, user_id FROM user_groups WHERE user_id IN ?", userIDs)
		if err != nil {
			return err
		}
		var fresh [][]any
		for i, m := range members {
			key := memberKey{group: m.Group, user: m.UserID}
			switch {
			case !users[m.UserID]:
				out[i] = ImportOutcome{Conflicted, fmt.Sprintf("there is no user %d", m.UserID)}
			case stored[key]:
				out[i] = ImportOutcome{Result: Unchanged}
			default:
				stored[key] = true
				fresh = append(fresh, []any{m.UserID, m.Group, now})
			}
		}
		inserted, err := s.insertMembers(tx, "user_groups (user_id, group_name, created_at)", "0, group_name, user_id", fresh)
		for i, m := range members {
			if out[i].Result == Imported && !inserted[memberKey{group: m.Group, user: m.UserID}] {
				out[i] = lostRace
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertMembers inserts rows into into (a table and its columns), and
// returns the keys of those that went in, as selected by returning (a
// tenant id, a group name, a user id), after telling every replica about
// their users.
func (s *Store) insertMembers(tx *gorm.DB, into, returning string, rows [][]any) (map[memberKey]bool, error) {
	inserted := map[memberKey]bool{}
	var users []int64
	err := insertMany(tx, into, returning, rows, func(r *sql.Rows) error {
		var k memberKey
		err := r.Scan(&k.tenant, &k.group, &k.user)
		inserted[k] = true
		users = append(users, k.user)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inserted, s.notifyUsers(tx, users...)
}

// ImportedIDs looks up the ids of stored users by username (compared as
// usernames are, ignoring case) and of stored tenants by slug, for an
// import file that names them by natural key. Names not found are left
// out of the maps, which are keyed by the names as given.
// Returns EUNAVAILABLE if the database fails.
func (s *Store) ImportedIDs(ctx context.Context, usernames, slugs []string) (users, tenants map[string]int64, err error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	users, tenants = map[string]int64{}, map[string]int64{}
	byKey := map[string][]string{}
	for _, name := range usernames {
		k := account.UsernameKey(account.NormalizeUsername(name))
		byKey[k] = append(byKey[k], name)
	}
	var found []struct {
		ID          int64
		UsernameKey string
		Slug        string
	}
	if len(byKey) > 0 {
		if err := db.Raw("SELECT id, username_key FROM users WHERE username_key IN ?", slices.Collect(maps.Keys(byKey))).Scan(&found).Error; err != nil {
			return nil, nil, dbError(err)
		}
	}
	for _, r := range found {
		for _, name := range byKey[r.UsernameKey] {
			users[name] = r.ID
		}
	}
	found = found[:0]
	if len(slugs) > 0 {
		if err := db.Raw("SELECT id, slug FROM tenants WHERE slug IN ?", slugs).Scan(&found).Error; err != nil {
			return nil, nil, dbError(err)
		}
	}
	for _, r := range found {
		tenants[r.Slug] = r.ID
	}
	return users, tenants, nil
}

// bulk runs fn in one transaction bounded by BulkTimeout, and turns a
// database failure into a models error.
func (s *Store) bulk(ctx context.Context, fn func(tx *gorm.DB) error) error {
	ctx, cancel := context.WithTimeout(ctx, max(BulkTimeout, s.opTimeout))
	defer cancel()
	return dbError(s.db.WithContext(ctx).Transaction(fn))
}

// existing returns which of ids are ids of rows of table.
func existing(tx *gorm.DB, table string, ids []int64) (map[int64]bool, error) {
	var found []int64
	if err := tx.Table(table).Where("id IN ?", ids).Pluck("id", &found).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// storedMembers runs query, which selects (tenant id, group name, user id)
// triples, and returns them as a set.
func storedMembers(tx *gorm.DB, query string, userIDs []int64) (map[memberKey]bool, error) {
	rows, err := tx.Raw(query, userIDs).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[memberKey]bool{}
	for rows.Next() {
		var k memberKey
		if err := rows.Scan(&k.tenant, &k.group, &k.user); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// insertMany runs multi-row INSERTs of rows into into (a table and its
// columns), insertChunk rows a statement, skipping any row that collides
// with a stored one, and calls scan on each row of RETURNING returning:
// ON CONFLICT DO NOTHING with RETURNING reports which rows went in, on
// PostgreSQL and SQLite alike.
func insertMany(tx *gorm.DB, into, returning string, rows [][]any, scan func(*sql.Rows) error) error {
	for len(rows) > 0 {
		n := min(insertChunk, len(rows))
		if err := insertRows(tx, into, returning, rows[:n], scan); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func insertRows(tx *gorm.DB, into, returning string, rows [][]any, scan func(*sql.Rows) error) error {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(rows[0])), ",") + ")"
	values := strings.TrimSuffix(strings.Repeat(row+",", len(rows)), ",")
	args := slices.Concat(rows...)
	res, err := tx.Raw("INSERT INTO "+into+" VALUES "+values+" ON CONFLICT DO NOTHING RETURNING "+returning, args...).Rows()
	if err != nil {
		return err
	}
	defer res.Close()
	for res.Next() {
		if err := scan(res); err != nil {
			return err
		}
	}
	return res.Err()
}
