package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

var groupsResource = models.Resource{Type: models.ResourceGroups}

// listGroups answers the groups the policy defines, with their grants.
func (h *handler) listGroups(c *gin.Context) error {
	pol := h.policies.Current()
	if _, err := h.authorize(c, pol, groupsResource, models.ActionList); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"results": pol.Groups(), "policy_version": pol.Version()})
	return nil
}

// groupMemberJSON is a group's member as clients see it, in a tenant
// member's shape: the user's system role stands where a tenant member's
// tenant role does, and invited_by is who added them.
type groupMemberJSON struct {
	User      memberUserJSON `json:"user"`
	Role      string         `json:"role"`
	IsActive  bool           `json:"is_active"`
	JoinedAt  time.Time      `json:"joined_at"`
	InvitedBy *int64         `json:"invited_by"`
}

func groupMemberOf(m models.GroupMember) groupMemberJSON {
	u := m.User
	out := groupMemberJSON{
		User: memberUserJSON{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName},
		Role: u.Role, IsActive: u.IsActive, JoinedAt: m.JoinedAt,
	}
	if m.AddedBy != 0 {
		out.InvitedBy = &m.AddedBy
	}
	return out
}

// policyGroup authorizes action on the groups, then reads the :name path
// parameter: a group the policy does not define is 404, after the
// decision, so that only those who may ask learn which groups exist.
func (h *handler) policyGroup(c *gin.Context, pol *authz.Policy, action string) (string, models.Decision, error) {
	d, err := h.authorize(c, pol, groupsResource, action)
	if err != nil {
		return "", d, err
	}
	name := c.Param("name")
	if !pol.HasGroup(name) {
		return "", d, models.Errorf(models.ENOTFOUND, "The policy defines no group %q.", clip(name, models.MaxGroupName))
	}
	return name, d, nil
}

// listGroupMembers answers a page of a group's members, by user id.
func (h *handler) listGroupMembers(c *gin.Context) error {
	name, _, err := h.policyGroup(c, h.policies.Current(), models.ActionRead)
	if err != nil {
		return err
	}
	bad := fieldErrors{}
	limit, after := pageParams(c.Request.URL.Query(), bad)
	if err := bad.err(); err != nil {
		return err
	}
	members, err := h.groups.GroupMembers(c.Request.Context(), models.GroupMemberFilter{Group: name, AfterID: after, Limit: limit + 1})
	if err != nil {
		return err
	}
	members, next := page(h.publicURL, c.Request, members, limit, func(m models.GroupMember) string { return encodeCursor(m.User.ID) })
	results := make([]groupMemberJSON, len(members))
	for i, m := range members {
		results[i] = groupMemberOf(m)
	}
	c.JSON(http.StatusOK, gin.H{"results": results, "next": next})
	return nil
}

// putGroupMember adds a user to a group; adding a member again changes
// nothing and answers the same.
func (h *handler) putGroupMember(c *gin.Context) error {
	name, d, err := h.policyGroup(c, h.policies.Current(), models.ActionAssign)
	if err != nil {
		return err
	}
	id, err := groupUserID(c)
	if err != nil {
		return err
	}
	m, added, err := h.groups.AddUserToGroup(c.Request.Context(), id, name, principal(c.Request.Context()).ID)
	if err != nil {
		return err
	}
	if added {
		h.recordAllowed(c, d, models.AuditGroupMemberAdd, models.GroupMemberTarget(name, id), models.GroupMemberChange(name, id, false, true))
	}
	c.JSON(http.StatusOK, groupMemberOf(m))
	return nil
}

// deleteGroupMember removes a user from a group; a user not in it is 404.
func (h *handler) deleteGroupMember(c *gin.Context) error {
	name, d, err := h.policyGroup(c, h.policies.Current(), models.ActionAssign)
	if err != nil {
		return err
	}
	id, err := groupUserID(c)
	if err != nil {
		return err
	}
	if err := h.groups.RemoveUserFromGroup(c.Request.Context(), id, name); err != nil {
		return err
	}
	h.recordAllowed(c, d, models.AuditGroupMemberRemove, models.GroupMemberTarget(name, id), models.GroupMemberChange(name, id, true, false))
	c.Status(http.StatusNoContent)
	return nil
}

// groupUserID parses the :user_id path parameter as userID parses :id.
func groupUserID(c *gin.Context) (int64, error) {
	s := c.Param("user_id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, errNotFound
	}
	return id, nil
}
