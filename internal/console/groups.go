package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// groupSummary is one group of the groups section: what the policy grants
// it, and how many members it has in the database.
type groupSummary struct {
	Name     string
	Grants   []authz.Grant
	Members  int64
	InPolicy bool
}

type groupListView struct {
	Groups []groupSummary
}

type groupView struct {
	Group     groupSummary
	Members   []models.GroupMember
	Next      string
	CanAssign bool
	// Notice says what the last add or remove did.
	Notice string
}

// PageTitle names the group in the title.
func (v groupView) PageTitle() string { return "Group " + v.Group.Name }

var groupsResource = models.Resource{Type: models.ResourceGroups}

// knownGroups are the groups the policy defines and those with members in
// the database (which a newer policy may have dropped), by name.
func (c *Console) knownGroups(q *request) ([]groupSummary, error) {
	counts, err := c.groups.GroupCounts(q.r.Context())
	if err != nil {
		return nil, err
	}
	var out []groupSummary
	for _, g := range q.pol.Groups() {
		out = append(out, groupSummary{Name: g.Name, Grants: g.Grants, InPolicy: true})
	}
	for _, n := range counts {
		i := slices.IndexFunc(out, func(g groupSummary) bool { return g.Name == n.Group })
		if i < 0 {
			out = append(out, groupSummary{Name: n.Group})
			i = len(out) - 1
		}
		out[i].Members = n.Members
	}
	slices.SortFunc(out, func(a, b groupSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// groupList is the groups section: each group's grants, linked to their
// policy lines, and its member count.
func (c *Console) groupList(q *request) error {
	if err := q.authorize(groupsResource, models.ActionList); err != nil {
		return err
	}
	groups, err := c.knownGroups(q)
	if err != nil {
		return err
	}
	c.render(q.w, q.r, http.StatusOK, "groups", q, groupListView{Groups: groups})
	return nil
}

// groupNamed decides action on the groups, then finds the {name} group
// among the known ones: an unknown group is 404 only after the decision,
// as in the API, so that only those who may ask learn which exist.
func (c *Console) groupNamed(q *request, action string) (groupSummary, models.Decision, error) {
	d, err := q.allowed(groupsResource, action)
	if err != nil {
		return groupSummary{}, d, err
	}
	name := q.r.PathValue("name")
	groups, err := c.knownGroups(q)
	if err != nil {
		return groupSummary{}, d, err
	}
	i := slices.IndexFunc(groups, func(g groupSummary) bool { return g.Name == name })
	if i < 0 {
		return groupSummary{}, d, &models.Error{Code: models.ENOTFOUND, Message: "There is no such group: the policy defines none of that name and no user is in one."}
	}
	return groups[i], d, nil
}

// groupDetail is one group: its grants and a page of its members, with
// the add and remove forms for a viewer who may assign.
func (c *Console) groupDetail(q *request) error {
	g, _, err := c.groupNamed(q, models.ActionRead)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(q.r.URL.Query().Get("after"), 10, 64)
	members, err := c.groups.GroupMembers(q.r.Context(), models.GroupMemberFilter{Group: g.Name, AfterID: max(after, 0), Limit: PageSize + 1})
	if err != nil {
		return err
	}
	v := groupView{Group: g, CanAssign: q.Can(models.ResourceGroups, models.ActionAssign), Notice: groupNotice(q.r.URL.Query())}
	if len(members) > PageSize {
		members = members[:PageSize]
		v.Next = groupPath(g.Name) + "?after=" + strconv.FormatInt(members[PageSize-1].User.ID, 10)
	}
	v.Members = members
	c.render(q.w, q.r, http.StatusOK, "group", q, v)
	return nil
}

func groupPath(name string) string { return "/console/groups/" + url.PathEscape(name) }

// groupNotice is the result of the add or remove that redirected here.
func groupNotice(v url.Values) string {
	who := v.Get("user")
	switch v.Get("done") {
	case "added":
		return who + " was added."
	case "member":
		return who + " was already a member."
	case "removed":
		return who + " was removed."
	}
	return ""
}

// groupAddMember adds the user named by username or id to a group the
// policy defines; adding a member again changes nothing.
func (c *Console) groupAddMember(q *request) error {
	q.r.Body = http.MaxBytesReader(q.w, q.r.Body, 16<<10)
	g, d, err := c.groupNamed(q, models.ActionAssign)
	if err != nil {
		return err
	}
	if !g.InPolicy {
		return models.Errorf(models.ENOTFOUND, "The policy defines no group %q, so no one can be added to it.", g.Name)
	}
	u, err := c.userByRef(q, strings.TrimSpace(q.r.PostFormValue("user")))
	if err != nil {
		return err
	}
	_, added, err := c.groups.AddUserToGroup(q.r.Context(), u.ID, g.Name, q.viewer.ID)
	if err != nil {
		return err
	}
	done := "member"
	if added {
		done = "added"
		q.recordAllowed(d, models.AuditGroupMemberAdd, models.GroupMemberTarget(g.Name, u.ID), models.GroupMemberChange(g.Name, u.ID, false, true))
	}
	http.Redirect(q.w, q.r, groupPath(g.Name)+"?"+url.Values{"done": {done}, "user": {u.Username}}.Encode(), http.StatusSeeOther)
	return nil
}

// groupRemoveMember takes a user out of a group, also one the policy no
// longer defines, so that stale memberships can be cleared.
func (c *Console) groupRemoveMember(q *request) error {
	g, d, err := c.groupNamed(q, models.ActionAssign)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errNotFound
	}
	if err := c.groups.RemoveUserFromGroup(q.r.Context(), id, g.Name); err != nil {
		return err
	}
	q.recordAllowed(d, models.AuditGroupMemberRemove, models.GroupMemberTarget(g.Name, id), models.GroupMemberChange(g.Name, id, true, false))
	who := "#" + strconv.FormatInt(id, 10)
	if u, err := c.users.UserByID(q.r.Context(), id); err == nil {
		who = u.Username
	}
	http.Redirect(q.w, q.r, groupPath(g.Name)+"?"+url.Values{"done": {"removed"}, "user": {who}}.Encode(), http.StatusSeeOther)
	return nil
}

// userByRef finds a user by username or, failing that, by decimal id.
// Returns EINVALID when neither finds one.
func (c *Console) userByRef(q *request, ref string) (*models.User, error) {
	if ref == "" || len(ref) > 254 {
		return nil, models.Errorf(models.EINVALID, "Enter the username or id of the user to add.")
	}
	u, err := c.users.UserByUsername(q.r.Context(), ref)
	if models.ErrorCode(err) == models.ENOTFOUND {
		if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
			u, err = c.users.UserByID(q.r.Context(), id)
		}
	}
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, models.Errorf(models.EINVALID, "No user has the username or id %q. Check it and try again.", ref)
	}
	return u, err
}
