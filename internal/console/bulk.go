package console

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/rolegate/rolegate/models"
)

// MaxBulk is the most users one bulk action takes.
const MaxBulk = 200

// bulkAction is an action on many users and the policy question each row
// needs: the action on Resource, users when empty.
type bulkAction struct {
	Name, Label, PolicyAction, Resource string
}

// actionAddToGroup adds each user to the group chosen with it.
const actionAddToGroup = "add_to_group"

var bulkActions = []bulkAction{
	{"activate", "Activate", models.ActionAssignRole, ""},
	{"deactivate", "Deactivate", models.ActionAssignRole, ""},
	{"delete", "Delete", models.ActionDelete, ""},
	{actionAddToGroup, "Add to group", models.ActionAssign, models.ResourceGroups},
}

// on is the resource the action is decided on for user id (0: users in
// general); a group's membership is decided on the groups, not the user.
func (a bulkAction) on(id int64) models.Resource {
	if a.Resource != "" {
		return models.Resource{Type: a.Resource}
	}
	return models.Resource{Type: models.ResourceUsers, OwnerID: id}
}

// bulkActions are those the viewer holds on users in general; each row is
// decided again on its own user.
func (q *request) bulkActions() []bulkAction {
	var out []bulkAction
	for _, a := range bulkActions {
		if q.Can(a.on(0).Type, a.PolicyAction) {
			out = append(out, a)
		}
	}
	return out
}

func bulkActionNamed(name string) (bulkAction, bool) {
	for _, a := range bulkActions {
		if a.Name == name {
			return a, true
		}
	}
	return bulkAction{}, false
}

type bulkRow struct {
	ID       int64
	Username string
	Role     string
	IsActive bool
	Missing  bool
	Outcome  string
	OK       bool
}

type bulkView struct {
	Action bulkAction
	// Group is the group of "add to group".
	Group string
	Rows  []bulkRow
	Done  int
}

// bulkForm reads the action, its group and the user ids of a bulk form,
// and refuses an action the viewer does not hold at all: a forged form.
func (q *request) bulkForm() (bulkAction, string, []int64, error) {
	q.r.Body = http.MaxBytesReader(q.w, q.r.Body, 64<<10)
	if err := q.r.ParseForm(); err != nil {
		return bulkAction{}, "", nil, models.Errorf(models.EINVALID, "The form could not be read.")
	}
	a, ok := bulkActionNamed(q.r.PostForm.Get("action"))
	if !ok {
		return a, "", nil, models.Errorf(models.EINVALID, "Choose an action for the selected users.")
	}
	if err := q.authorize(models.Resource{Type: a.on(0).Type}, a.PolicyAction); err != nil {
		return a, "", nil, err
	}
	var group string
	if a.Name == actionAddToGroup {
		group = q.r.PostForm.Get("group")
		if !q.pol.HasGroup(group) {
			return a, "", nil, models.Errorf(models.EINVALID, "Choose a group the policy defines to add the users to.")
		}
	}
	ids, err := bulkIDs(q.r.PostForm["id"])
	return a, group, ids, err
}

// bulkIDs are the form's user ids, each once, at least one and at most
// MaxBulk.
func bulkIDs(values []string) ([]int64, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, s := range values {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, models.Errorf(models.EINVALID, "%q is not a user id.", s)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return nil, models.Errorf(models.EINVALID, "Select at least one user, then choose the action.")
	case len(ids) > MaxBulk:
		return nil, models.Errorf(models.EINVALID, "Select at most %d users at once.", MaxBulk)
	}
	return ids, nil
}

// bulkConfirm lists every user the action would touch, for confirmation.
func (c *Console) bulkConfirm(q *request) error {
	a, group, ids, err := q.bulkForm()
	if err != nil {
		return err
	}
	v := bulkView{Action: a, Group: group}
	for _, id := range ids {
		row := bulkRow{ID: id}
		u, err := c.users.UserByID(q.r.Context(), id)
		switch models.ErrorCode(err) {
		case "":
			row.Username, row.Role, row.IsActive = u.Username, u.Role, u.IsActive
		case models.ENOTFOUND:
			row.Missing = true
		default:
			return err
		}
		v.Rows = append(v.Rows, row)
	}
	c.render(q.w, q.r, 200, "bulk", q, v)
	return nil
}

// bulkApply applies the action to each user in turn, each decided by the
// policy on its own user and each under the last-administrator guard, and
// reports each row's outcome.
func (c *Console) bulkApply(q *request) error {
	a, group, ids, err := q.bulkForm()
	if err != nil {
		return err
	}
	v := bulkView{Action: a, Group: group}
	for _, id := range ids {
		row := c.applyOne(q, a, group, id)
		if row.OK {
			v.Done++
		}
		v.Rows = append(v.Rows, row)
	}
	c.render(q.w, q.r, 200, "bulkdone", q, v)
	return nil
}

func (c *Console) applyOne(q *request, a bulkAction, group string, id int64) bulkRow {
	row := bulkRow{ID: id}
	ctx := q.r.Context()
	target := a.on(id)
	d, err := q.decide(target, a.PolicyAction)
	if err == nil && !d.Allowed {
		q.recordDeny(d, target, a.PolicyAction)
		row.Outcome = "Refused: the policy does not allow “" + a.Label + "” on this user."
		return row
	}
	if err == nil {
		switch a.Name {
		case "delete":
			err = c.deleteUser(q, d, id, &row)
		case actionAddToGroup:
			err = c.addToGroup(q, d, group, id, &row)
		default:
			err = c.setActive(q, d, id, a.Name == "activate", &row)
		}
	}
	switch models.ErrorCode(err) {
	case "":
		row.OK = true
	case models.ENOTFOUND:
		row.Missing, row.Outcome = true, "Skipped: the user no longer exists."
	case models.ECONFLICT:
		row.Outcome = "Refused: " + models.AsError(err).Message
	default:
		c.log.ErrorContext(ctx, "console bulk action", "action", a.Name, "user", id, "err", err)
		row.Outcome = "Failed: the server could not apply it; try again."
	}
	return row
}

func (c *Console) deleteUser(q *request, d models.Decision, id int64, row *bulkRow) error {
	u, err := c.users.UserByID(q.r.Context(), id)
	if err != nil {
		return err
	}
	row.Username, row.Role = u.Username, u.Role
	if err := c.users.DeleteUser(q.r.Context(), id, q.pol.AdminGuard()); err != nil {
		return err
	}
	q.recordAllowed(d, models.AuditUserDelete, userTarget(id), map[string]any{"username": u.Username, "role": u.Role})
	row.Outcome = "Deleted."
	return nil
}

func (c *Console) setActive(q *request, d models.Decision, id int64, active bool, row *bulkRow) error {
	change, err := c.users.UpdateUser(q.r.Context(), id, models.UserPatch{IsActive: &active}, q.pol.AdminGuard(), nil)
	if err != nil {
		return err
	}
	row.Username, row.Role, row.IsActive = change.After.Username, change.After.Role, change.After.IsActive
	if change.Before.IsActive == active {
		row.Outcome = fmt.Sprintf("Unchanged: already %s.", activeWord(active))
		return nil
	}
	q.recordAllowed(d, models.AuditUserRoleChange, userTarget(id), map[string]any{"is_active": map[string]any{"from": change.Before.IsActive, "to": active}})
	row.Outcome = fmt.Sprintf("Now %s.", activeWord(active))
	return nil
}

func activeWord(active bool) string {
	if active {
		return "active"
	}
	return "inactive"
}

// addToGroup adds user id to group as the API does: a member already in
// it is reported, not changed, and only a new membership is audited.
func (c *Console) addToGroup(q *request, d models.Decision, group string, id int64, row *bulkRow) error {
	m, added, err := c.groups.AddUserToGroup(q.r.Context(), id, group, q.viewer.ID)
	if err != nil {
		return err
	}
	row.Username, row.Role, row.IsActive = m.User.Username, m.User.Role, m.User.IsActive
	if !added {
		row.Outcome = "Unchanged: already a member of " + group + "."
		return nil
	}
	q.recordAllowed(d, models.AuditGroupMemberAdd, models.GroupMemberTarget(group, id), models.GroupMemberChange(group, id, false, true))
	row.Outcome = "Added to " + group + "."
	return nil
}
