package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

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

// memberDetail is a membership as audit events show it.
func memberDetail(m *models.Membership) map[string]any {
	if m == nil {
		return nil
	}
	return map[string]any{"role": m.Role, "is_active": m.IsActive}
}

func memberTarget(t *models.Tenant, userID int64) string {
	return tenantTarget(t) + "/members/" + strconv.FormatInt(userID, 10)
}

var errOwnTenantRole = &models.Error{Code: models.EFORBIDDEN, Reason: "own_tenant_role",
	Message: "Nobody changes their own tenant role or active flag."}

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
	members, err := h.tenants.ListMembers(c.Request.Context(), sc.tenant.ID, f)
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
	if !sc.pol.HasTenantRole(*in.Role) {
		return models.FieldError("role", fmt.Sprintf("%q is not a valid choice.", *in.Role))
	}
	patch := models.MemberPatch{Role: in.Role, IsActive: in.IsActive, InvitedBy: sc.sub.ID}
	g := &grantCheck{h: h, c: c, sc: sc}
	change, err := h.tenants.PutMember(c.Request.Context(), sc.tenant.ID, id, patch, sc.pol.TenantGuard(), func(locked *models.Membership, activeRole func(int64) (string, error)) error {
		if err := g.relock(activeRole); err != nil {
			return err
		}
		if id == sc.sub.ID && (locked == nil || *in.Role != locked.Role || in.IsActive != nil && *in.IsActive != locked.IsActive) {
			return errOwnTenantRole
		}
		if locked != nil {
			if err := g.allow(locked.Role); err != nil {
				return err
			}
		}
		return g.allow(*in.Role)
	})
	if err != nil {
		return err
	}
	u, err := h.users.UserByID(c.Request.Context(), id)
	if err != nil {
		return err
	}
	h.recordMemberChange(c, sc, g.last, change)
	status := http.StatusOK
	if change.Before == nil {
		status = http.StatusCreated
	}
	c.JSON(status, toMemberJSON(change.After, u))
	return nil
}

// recordMemberChange records a membership added or changed.
func (h *handler) recordMemberChange(c *gin.Context, sc *tenantScope, d models.Decision, change models.MemberChange) {
	action := models.AuditMemberUpdate
	if change.Before == nil {
		action = models.AuditMemberAdd
	} else if change.Before.Role == change.After.Role && change.Before.IsActive == change.After.IsActive {
		return
	}
	h.recordTenantChange(c, sc.tenant, d, action, memberTarget(sc.tenant, change.After.UserID), map[string]any{
		"user_id": change.After.UserID, "before": memberDetail(change.Before), "after": memberDetail(change.After),
	})
}

// grantCheck decides the grant cap: whether the caller may give or take
// each tenant role ("grant" on "tenant_role:<role>"). It keeps the last
// decision, for the audit event of the change.
type grantCheck struct {
	h    *handler
	c    *gin.Context
	sc   *tenantScope
	last models.Decision
}

// relock replaces the caller's tenant role, read when the request
// entered the tenant, with the one activeRole reads under the write's
// lock: a caller demoted meanwhile grants only what their new role may.
func (g *grantCheck) relock(activeRole func(int64) (string, error)) error {
	role, err := activeRole(g.sc.sub.ID)
	if err != nil {
		return err
	}
	sc := *g.sc
	standing := *sc.sub.Tenant
	standing.Role = role
	sc.sub.Tenant = &standing
	g.sc = &sc
	return nil
}

func (g *grantCheck) allow(role string) error {
	d, err := g.h.authorizeIn(g.c, g.sc, models.Resource{Type: models.TenantRoleResource(role)}, models.ActionGrant)
	if err != nil {
		return err
	}
	g.last = d
	return nil
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
	g := &grantCheck{h: h, c: c, sc: sc}
	leaving := id == sc.sub.ID
	before, err := h.tenants.RemoveMember(c.Request.Context(), sc.tenant.ID, id, sc.pol.TenantGuard(), func(locked *models.Membership, activeRole func(int64) (string, error)) error {
		if leaving {
			return nil
		}
		if err := g.relock(activeRole); err != nil {
			return err
		}
		return g.allow(locked.Role)
	})
	if err != nil {
		return err
	}
	h.recordTenantChange(c, sc.tenant, g.last, models.AuditMemberRemove, memberTarget(sc.tenant, id), map[string]any{
		"user_id": id, "before": memberDetail(before), "after": nil, "left": leaving,
	})
	c.Status(http.StatusNoContent)
	return nil
}
