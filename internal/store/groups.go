package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// UserGroups returns the names of user id's groups, sorted, or nil when
// the user is in none (or does not exist).
func (s *Store) UserGroups(ctx context.Context, userID int64) ([]string, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var names []string
	err := db.Raw("SELECT group_name FROM user_groups WHERE user_id = ? ORDER BY group_name", userID).Scan(&names).Error
	if err != nil {
		return nil, dbError(err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	return names, nil
}

// GroupCounts returns every group that has members, with how many, by
// name: the groups the database knows, which a policy may no longer.
func (s *Store) GroupCounts(ctx context.Context) ([]models.GroupCount, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var out []models.GroupCount
	err := db.Raw("SELECT group_name AS \"group\", COUNT(*) AS members FROM user_groups GROUP BY group_name ORDER BY group_name").Scan(&out).Error
	if err != nil {
		return nil, dbError(err)
	}
	return out, nil
}

// AddUserToGroup puts user userID in group, as added by user by, and
// returns the membership and whether it is new: adding a member again
// changes nothing. Every replica drops the user from its cache, so the
// next request sees the group. Returns ENOTFOUND if there is no such user.
func (s *Store) AddUserToGroup(ctx context.Context, userID int64, group string, by int64) (models.GroupMember, bool, error) {
	var m models.GroupMember
	var added bool
	defer s.users.invalidate(userID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO user_groups (user_id, group_name, created_at, added_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, group_name) DO NOTHING`, userID, group, timestamp(time.Now()), nullID(by))
		if errors.Is(res.Error, gorm.ErrForeignKeyViolated) {
			return gorm.ErrRecordNotFound
		}
		if res.Error != nil {
			return res.Error
		}
		added = res.RowsAffected > 0
		found, err := scanGroupMembers(tx.Raw(groupMemberSelect+"AND g.user_id = ?", group, userID), group)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return gorm.ErrRecordNotFound
		}
		m = found[0]
		return s.notifyUsers(tx, userID)
	})
	if err != nil {
		return models.GroupMember{}, false, dbError(err)
	}
	return m, added, nil
}

// RemoveUserFromGroup takes user userID out of group, and tells every
// replica. Returns ENOTFOUND if the user is not in it.
func (s *Store) RemoveUserFromGroup(ctx context.Context, userID int64, group string) error {
	defer s.users.invalidate(userID)
	return dbError(s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM user_groups WHERE user_id = ? AND group_name = ?", userID, group)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return s.notifyUsers(tx, userID)
	}))
}

// GroupMembers returns up to f.Limit members of f.Group in ascending user
// id order, after f.AfterID. Returns EINVALID for a limit below 1.
func (s *Store) GroupMembers(ctx context.Context, f models.GroupMemberFilter) ([]models.GroupMember, error) {
	if f.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	out, err := scanGroupMembers(db.Raw(groupMemberSelect+"AND g.user_id > ? ORDER BY g.user_id LIMIT ?", f.Group, f.AfterID, f.Limit), f.Group)
	if err != nil {
		return nil, dbError(err)
	}
	return out, nil
}

// groupMemberRow is one row of the member list: the user's public profile
// and when they joined the group.
type groupMemberRow struct {
	ID        int64
	Username  string
	Email     string
	FirstName string
	LastName  string
	Role      string
	IsActive  bool
	CreatedAt time.Time
	AddedBy   *int64
}

// groupMemberSelect selects the members of a group, whose name is its
// first parameter; callers add conditions after it.
const groupMemberSelect = `SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.role, u.is_active, g.created_at, g.added_by
	FROM user_groups g JOIN users u ON u.id = g.user_id WHERE g.group_name = ? `

// scanGroupMembers runs q, a groupMemberSelect, and converts its rows.
func scanGroupMembers(q *gorm.DB, group string) ([]models.GroupMember, error) {
	var rows []groupMemberRow
	if err := q.Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]models.GroupMember, len(rows))
	for i, r := range rows {
		out[i] = models.GroupMember{
			User: &models.User{ID: r.ID, Username: r.Username, Email: r.Email, FirstName: r.FirstName,
				LastName: r.LastName, Role: r.Role, IsActive: r.IsActive},
			Group: group, JoinedAt: r.CreatedAt.UTC(),
		}
		if r.AddedBy != nil {
			out[i].AddedBy = *r.AddedBy
		}
	}
	return out, nil
}

// nullID is id, or NULL for 0.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
