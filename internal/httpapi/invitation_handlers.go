package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// InvitationStore is what the invitation routes need from storage.
type InvitationStore interface {
	// CreateInvitation returns the invitation with its token, the only
	// time the token is seen: only its hash is stored.
	CreateInvitation(ctx context.Context, inv *models.Invitation) (*models.Invitation, error)
	ListInvitations(ctx context.Context, tenantID int64, f models.InvitationFilter) ([]*models.Invitation, error)
	// RevokeInvitation returns ENOTFOUND unless the invitation is pending
	// in the tenant, or check's error as it is.
	RevokeInvitation(ctx context.Context, tenantID, id, by int64, check func(*models.Invitation) error) (*models.Invitation, error)
	// AcceptInvitation returns one ENOTFOUND for every token that cannot
	// be accepted by u, and ECONFLICT when u already is an active member.
	AcceptInvitation(ctx context.Context, token string, u *models.User) (*models.Invitation, models.MemberChange, error)
}

// invitationJSON is an invitation as the API shows it; Token only in the
// answer that creates it.
type invitationJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy *int64    `json:"created_by"`
	Token     string    `json:"token,omitempty"`
}

func toInvitationJSON(inv *models.Invitation) invitationJSON {
	out := invitationJSON{ID: inv.ID, Email: inv.Email, Role: inv.Role, ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt, Token: inv.Token}
	if inv.CreatedBy != 0 {
		out.CreatedBy = &inv.CreatedBy
	}
	return out
}

type createInvitationInput struct {
	Email *string `json:"email"`
	Role  *string `json:"role"`
}

// createInvitation invites an email address to join the tenant with a
// role the caller may grant. The answer holds the token, once.
func (h *handler) createInvitation(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	var in createInvitationInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireFields(map[string]*string{"email": in.Email, "role": in.Role}); err != nil {
		return err
	}
	bad := fieldErrors{}
	email := strings.TrimSpace(*in.Email)
	if !tenancy.ValidInvitationEmail(email) {
		bad.add("email", "Enter a valid email address.")
	}
	if !sc.Pol.HasTenantRole(*in.Role) {
		bad.add("role", fmt.Sprintf("%q is not a valid choice.", *in.Role))
	}
	if err := bad.err(); err != nil {
		return err
	}
	inv, d, err := h.asker(c).CreateInvitation(c.Request.Context(), h.tenants, sc, email, *in.Role, h.invitationTTL)
	if err != nil {
		return err
	}
	h.recordTenantChange(c, sc.Tenant, d, models.AuditInvitationCreate, tenancy.InvitationTarget(sc.Tenant, inv.ID), map[string]any{
		"after": tenancy.InvitationDetail(inv),
	})
	c.JSON(http.StatusCreated, toInvitationJSON(inv))
	return nil
}

// listInvitations lists the tenant's pending invitations, for those who
// may grant some tenant role: they are who can invite.
func (h *handler) listInvitations(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	if err := h.requireSomeGrant(c, sc); err != nil {
		return err
	}
	q := c.Request.URL.Query()
	bad := fieldErrors{}
	limit, after := pageParams(q, bad)
	if err := bad.err(); err != nil {
		return err
	}
	invs, err := h.tenants.ListInvitations(c.Request.Context(), sc.Tenant.ID, models.InvitationFilter{AfterID: after, Limit: limit + 1})
	if err != nil {
		return err
	}
	invs, next := page(h.publicURL, c.Request, invs, limit, func(inv *models.Invitation) string { return encodeCursor(inv.ID) })
	results := make([]invitationJSON, len(invs))
	for i, inv := range invs {
		results[i] = toInvitationJSON(inv)
	}
	c.JSON(http.StatusOK, gin.H{"results": results, "next": next})
	return nil
}

// requireSomeGrant refuses a caller who may grant no tenant role here.
func (h *handler) requireSomeGrant(c *gin.Context, sc *tenantScope) error {
	roles, err := sc.GrantableRoles()
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		res := models.Resource{Type: models.TenantRolePrefix + "*"}
		d := models.Decision{PolicyVersion: sc.Pol.Version()}
		h.recordTenantDeny(c, sc, d, res, models.ActionGrant)
		return &deniedError{resource: res.Type, action: models.ActionGrant, version: d.PolicyVersion}
	}
	return nil
}

// invitationID parses the :id path parameter, like userID.
func invitationID(c *gin.Context) (int64, error) {
	s := c.Param("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, errNotFound
	}
	return id, nil
}

// revokeInvitation revokes a pending invitation, for those who may grant
// its role.
func (h *handler) revokeInvitation(c *gin.Context) error {
	sc, err := h.enterTenant(c)
	if err != nil {
		return err
	}
	id, err := invitationID(c)
	if err != nil {
		return err
	}
	before, d, err := h.asker(c).RevokeInvitation(c.Request.Context(), h.tenants, sc, id)
	if err != nil {
		return err
	}
	h.recordTenantChange(c, sc.Tenant, d, models.AuditInvitationRevoke, tenancy.InvitationTarget(sc.Tenant, id), map[string]any{
		"before": tenancy.InvitationDetail(before),
	})
	c.Status(http.StatusNoContent)
	return nil
}

type acceptInvitationInput struct {
	Token *string `json:"token"`
}

// acceptInvitation makes the caller a member of the tenant an invitation
// is for, if its email is the caller's. Every token that cannot be
// accepted gets the same 404.
func (h *handler) acceptInvitation(c *gin.Context) error {
	var in acceptInvitationInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireFields(map[string]*string{"token": in.Token}); err != nil {
		return err
	}
	u := principal(c.Request.Context())
	inv, change, err := h.tenants.AcceptInvitation(c.Request.Context(), *in.Token, u)
	if err != nil {
		return err
	}
	t, err := h.tenants.TenantByID(c.Request.Context(), inv.TenantID)
	if err != nil {
		return err
	}
	h.record(c, models.AuditEvent{
		Action: models.AuditInvitationAccept, Result: models.AuditSuccess, Target: tenancy.InvitationTarget(t, inv.ID), TenantID: t.ID,
		Detail: map[string]any{"user_id": u.ID, "invited_by": inv.CreatedBy, "before": tenancy.MemberDetail(change.Before), "after": tenancy.MemberDetail(change.After)},
	})
	c.JSON(http.StatusOK, toTenantJSON(t, change.After.Role))
	return nil
}
