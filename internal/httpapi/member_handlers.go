package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// MemberStore is what the member routes need from storage.
type MemberStore interface {
	// PutMember calls check on the membership as locked by the write and
	// returns its error as it is; ENOTFOUND for a missing user, ECONFLICT
	// for the tenant's last active owner.
	PutMember(ctx context.Context, tenantID, userID int64, patch models.MemberPatch, guard models.TenantGuard, check models.MemberCheck) (models.MemberChange, error)
	// RemoveMember is PutMember's counterpart for removals; ENOTFOUND when
	// the user is no member.
	RemoveMember(ctx context.Context, tenantID, userID int64, guard models.TenantGuard, check models.MemberCheck) (*models.Membership, error)
	ListMembers(ctx context.Context, tenantID int64, f models.MemberFilter) ([]*models.Membership, error)
}

// memberUserJSON is the account of a member, as member lists show it.
type memberUserJSON struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// memberJSON is one membership, as member lists show it.
type memberJSON struct {
	User      memberUserJSON `json:"user"`
	Role      string         `json:"role"`
	IsActive  bool           `json:"is_active"`
	JoinedAt  time.Time      `json:"joined_at"`
	InvitedBy *int64         `json:"invited_by"`
}

func toMemberJSON(m *models.Membership, u *models.User) memberJSON {
	out := memberJSON{
		User: memberUserJSON{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName},
		Role: m.Role, IsActive: m.IsActive, JoinedAt: m.CreatedAt,
	}
	if m.InvitedBy != 0 {
		out.InvitedBy = &m.InvitedBy
	}
	return out
}

func (h *handler) listMembers(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	if _, err := h.authorizeIn(c, sc, models.Resource{Type: models.ResourceMembers}, models.ActionList); err != nil {
		return err
	}
	q := c.Request.URL.Query()
	bad := fieldErrors{}
	limit, after := pageParams(q, bad)
	f := models.MemberFilter{Role: q.Get("role"), Search: q.Get("search"), AfterUserID: after, Limit: limit + 1}
	if len([]rune(f.Search)) > 254 {
		bad.add("search", "Ensure this field has no more than 254 characters.")
	}
	if err := bad.err(); err != nil {
		return err
	}
	members, err := h.tenants.ListMembers(c.Request.Context(), sc.Tenant.ID, f)
	if err != nil {
		return err
	}
	members, next := page(h.publicURL, c.Request, members, limit, func(m *models.Membership) string { return encodeCursor(m.UserID) })
	results := make([]memberJSON, len(members))
	for i, m := range members {
		results[i] = toMemberJSON(m, m.User)
	}
	c.JSON(http.StatusOK, gin.H{"results": results, "next": next})
	return nil
}

type putMemberInput struct {
	Role     *string `json:"role"`
	IsActive *bool   `json:"is_active"`
}

// memberID parses the :user_id path parameter, like userID.
func memberID(c *gin.Context) (int64, error) {
	s := c.Param("user_id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, errNotFound
	}
	return id, nil
}

// putMember adds an existing user to the tenant or changes a member's
// role or active flag. The caller must be allowed to grant both the
// member's current role and the new one, decided on the membership as the
// write locks it; nobody changes their own.
func (h *handler) putMember(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	id, err := memberID(c)
	if err != nil {
		return err
	}
	var in putMemberInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireFields(map[string]*string{"role": in.Role}); err != nil {
		return err
	}
	if !sc.Pol.HasTenantRole(*in.Role) {
		return models.FieldError("role", fmt.Sprintf("%q is not a valid choice.", *in.Role))
	}
	change, d, err := h.asker(c).PutMember(c.Request.Context(), h.tenants, sc, id, *in.Role, in.IsActive)
	if err != nil {
		return err
	}
	u, err := h.users.UserByID(c.Request.Context(), id)
	if err != nil {
		return err
	}
	h.recordMemberChange(c, sc, d, change)
	status := http.StatusOK
	if change.Before == nil {
		status = http.StatusCreated
	}
	c.JSON(status, toMemberJSON(change.After, u))
	return nil
}

// recordMemberChange records a membership added or changed.
func (h *handler) recordMemberChange(c *gin.Context, sc *tenantScope, d models.Decision, change models.MemberChange) {
	action, detail := tenancy.MemberChangeAudit(change)
	if action == "" {
		return
	}
	h.recordTenantChange(c, sc.Tenant, d, action, tenancy.MemberTarget(sc.Tenant, change.After.UserID), detail)
}

// deleteMember removes a member, for those who may grant the member's
// role; on oneself, it is leaving, which every member may do unless they
// are the tenant's last active owner.
func (h *handler) deleteMember(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	id, err := memberID(c)
	if err != nil {
		return err
	}
	before, d, err := h.asker(c).RemoveMember(c.Request.Context(), h.tenants, sc, id)
	if err != nil {
		return err
	}
	h.recordTenantChange(c, sc.Tenant, d, models.AuditMemberRemove, tenancy.MemberTarget(sc.Tenant, id), tenancy.MemberRemovalAudit(id, before, id == sc.Sub.ID))
	c.Status(http.StatusNoContent)
	return nil
}
