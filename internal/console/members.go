package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// memberAdd adds an existing user, named by username or id, to the
// tenant with a role, or changes the role of one who is a member: the
// API's PUT of a member.
func (c *Console) memberAdd(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	ref, role := strings.TrimSpace(q.r.PostFormValue("user")), q.r.PostFormValue("role")
	u, err := c.memberUser(q, ref)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return c.tenantProblem(q, sc, http.StatusBadRequest, fmt.Sprintf("There is no user %q.", ref))
	}
	if err != nil {
		return err
	}
	return c.putMember(q, sc, u.ID, role)
}

// memberUser finds the user ref names: an id, or else a username.
func (c *Console) memberUser(q *request, ref string) (*models.User, error) {
	if ref == "" {
		return nil, models.Errorf(models.ENOTFOUND, "No user was named.")
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return c.users.UserByID(q.r.Context(), id)
	}
	return c.tenants.UserByUsername(q.r.Context(), ref)
}

// memberChange changes a member's role.
func (c *Console) memberChange(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	id, err := pathUserID(q.r)
	if err != nil {
		return err
	}
	return c.putMember(q, sc, id, q.r.PostFormValue("role"))
}

// putMember writes the membership through tenancy, the API's one path:
// the grant cap on both roles, nobody's own membership, and the last
// owner, all decided on the row as the write locks it.
func (c *Console) putMember(q *request, sc *tenancy.Scope, userID int64, role string) error {
	if !sc.Pol.HasTenantRole(role) {
		return c.tenantProblem(q, sc, http.StatusBadRequest, fmt.Sprintf("%q is not a tenant role.", role))
	}
	change, d, err := q.tenantAsker().PutMember(q.r.Context(), c.tenants, sc, userID, role, nil)
	if err != nil {
		return c.memberRefusal(q, sc, err)
	}
	if action, detail := tenancy.MemberChangeAudit(change); action != "" {
		q.recordTenantChange(sc.Tenant, d, action, tenancy.MemberTarget(sc.Tenant, userID), detail)
	}
	http.Redirect(q.w, q.r, "/console/tenants/"+sc.Tenant.Slug+"?done=member", http.StatusSeeOther)
	return nil
}

// memberRemove removes a member; on oneself it is leaving.
func (c *Console) memberRemove(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	id, err := pathUserID(q.r)
	if err != nil {
		return err
	}
	before, d, err := q.tenantAsker().RemoveMember(q.r.Context(), c.tenants, sc, id)
	if err != nil {
		return c.memberRefusal(q, sc, err)
	}
	q.recordTenantChange(sc.Tenant, d, models.AuditMemberRemove, tenancy.MemberTarget(sc.Tenant, id), tenancy.MemberRemovalAudit(id, before, id == q.viewer.ID))
	http.Redirect(q.w, q.r, "/console/tenants/"+sc.Tenant.Slug+"?done=removed", http.StatusSeeOther)
	return nil
}

// memberRefusal shows a conflict (the last owner) or a missing member on
// the tenant's page, with what happened; a refusal of the policy is the
// 403 page.
func (c *Console) memberRefusal(q *request, sc *tenancy.Scope, err error) error {
	switch models.ErrorCode(err) {
	case models.ECONFLICT:
		return c.tenantProblem(q, sc, http.StatusConflict, models.AsError(err).Message+" Make another member an owner first.")
	case models.ENOTFOUND:
		return c.tenantProblem(q, sc, http.StatusNotFound, "That user is not a member of this tenant (any more).")
	}
	return err
}

// tenantProblem shows the tenant's page with msg, nothing changed.
func (c *Console) tenantProblem(q *request, sc *tenancy.Scope, status int, msg string) error {
	v, err := c.tenantView(q, sc)
	if err != nil {
		return err
	}
	v.Error = msg
	return c.showTenant(q, status, v)
}

// invitationCreate invites an email address with a role the viewer may
// grant, and shows the accept link this once.
func (c *Console) invitationCreate(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	email, role := strings.TrimSpace(q.r.PostFormValue("email")), q.r.PostFormValue("role")
	fields := map[string][]string{}
	if !tenancy.ValidInvitationEmail(email) {
		fields["invite_email"] = []string{"Enter a valid email address."}
	}
	if !sc.Pol.HasTenantRole(role) {
		fields["invite_role"] = []string{fmt.Sprintf("%q is not a valid choice.", role)}
	}
	if len(fields) > 0 {
		v, err := c.tenantView(q, sc)
		if err != nil {
			return err
		}
		v.Form, v.Fields = map[string]string{"invite_email": email, "invite_role": role}, fields
		return c.showTenant(q, http.StatusBadRequest, v)
	}
	inv, d, err := q.tenantAsker().CreateInvitation(q.r.Context(), c.tenants, sc, email, role, c.inviteTTL)
	if err != nil {
		return err
	}
	q.recordTenantChange(sc.Tenant, d, models.AuditInvitationCreate, tenancy.InvitationTarget(sc.Tenant, inv.ID), map[string]any{
		"after": tenancy.InvitationDetail(inv),
	})
	v, err := c.tenantView(q, sc)
	if err != nil {
		return err
	}
	v.Created, v.CreatedLink = inv, c.acceptLink(inv.Token)
	return c.showTenant(q, http.StatusCreated, v)
}

// acceptLink is where an invitee accepts: the API's accept endpoint after
// ROLEGATE_PUBLIC_URL (relative without it, as the API's next links),
// with the token in the fragment, which browsers never send to a server
// nor write to its logs.
func (c *Console) acceptLink(token string) string {
	return c.publicURL + "/v1/invitations/accept#token=" + token
}

// invitationRevoke revokes a pending invitation, for viewers who may
// grant its role.
func (c *Console) invitationRevoke(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	id, err := pathUserID(q.r)
	if err != nil {
		return err
	}
	before, d, err := q.tenantAsker().RevokeInvitation(q.r.Context(), c.tenants, sc, id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return c.tenantProblem(q, sc, http.StatusNotFound, "That invitation is no longer pending.")
	}
	if err != nil {
		return err
	}
	q.recordTenantChange(sc.Tenant, d, models.AuditInvitationRevoke, tenancy.InvitationTarget(sc.Tenant, id), map[string]any{
		"before": tenancy.InvitationDetail(before),
	})
	http.Redirect(q.w, q.r, "/console/tenants/"+sc.Tenant.Slug+"?done=revoked", http.StatusSeeOther)
	return nil
}
