package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// tenantView is one tenant's page: its fields and edit form, its members
// and its invitations, each control as the viewer's grants allow.
type tenantView struct {
	Tenant *models.Tenant
	// Role is the viewer's own role in the tenant, "" for none.
	Role        string
	Members     []memberRowView
	MemberQ     string
	MemberNext  string
	Grantable   []string
	Invitations []*models.Invitation
	// Created is the invitation just made, with its token and link, shown
	// this once.
	Created     *models.Invitation
	CreatedLink string
	Form        map[string]string
	Fields      map[string][]string
	Notice      string
	Error       string
	CanEdit     bool
	CanActivate bool
	CanMembers  bool
	CanHistory  bool
}

// memberRowView is one member, with what the viewer may do to them.
type memberRowView struct {
	*models.Membership
	Self      bool
	CanChange bool
}

// PageTitle names the page after the tenant.
func (v tenantView) PageTitle() string { return v.Tenant.Name }

// CanInvite reports whether the viewer may grant some tenant role: who
// may invite, and see the pending invitations.
func (v tenantView) CanInvite() bool { return len(v.Grantable) > 0 }

// CanGrant reports whether the viewer may grant role: change a member
// from or to it, or revoke an invitation to it.
func (v tenantView) CanGrant(role string) bool { return slices.Contains(v.Grantable, role) }

// FormValue is the edit form's value of a field: as sent after an error,
// else the tenant's.
func (v tenantView) FormValue(field string) string {
	if s, ok := v.Form[field]; ok {
		return s
	}
	switch field {
	case "name":
		return v.Tenant.Name
	case "settings":
		if len(v.Tenant.Settings) == 0 {
			return "{}"
		}
		return string(v.Tenant.Settings)
	case "is_active":
		return strconv.FormatBool(v.Tenant.IsActive)
	}
	return ""
}

// enterTenant places the viewer in the tenant the path names, as the
// API's tenant routes do: a tenant they may not read is not found.
func (c *Console) enterTenant(q *request) (*tenancy.Scope, error) {
	if c.tenants == nil {
		return nil, errNotFound
	}
	sc, _, err := q.tenantAsker().Enter(q.r.Context(), c.tenants, q.pol, subjectOf(q.viewer), q.r.PathValue("slug"))
	if err == tenancy.ErrHidden || models.ErrorCode(err) == models.ENOTFOUND {
		return nil, errNotFound
	}
	return sc, err
}

// tenantView reads what the tenant page shows the viewer.
func (c *Console) tenantView(q *request, sc *tenancy.Scope) (tenantView, error) {
	a := q.tenantAsker()
	tenant := models.Resource{Type: models.ResourceTenant}
	v := tenantView{
		Tenant: sc.Tenant, Role: sc.Role(),
		CanEdit:     a.Can(sc, tenant, models.ActionUpdate),
		CanActivate: a.Can(sc, tenant, models.ActionDelete),
		CanMembers:  a.Can(sc, models.Resource{Type: models.ResourceMembers}, models.ActionList),
		CanHistory:  a.Can(sc, models.Resource{Type: models.ResourceTenantAudit}, models.ActionRead),
	}
	for _, role := range sc.Pol.TenantRoles() {
		if a.Can(sc, models.Resource{Type: models.TenantRoleResource(role)}, models.ActionGrant) {
			v.Grantable = append(v.Grantable, role)
		}
	}
	ctx := q.r.Context()
	if v.CanMembers {
		if err := c.readMembers(q, sc, &v); err != nil {
			return v, err
		}
	}
	if v.CanInvite() {
		invs, err := c.tenants.ListInvitations(ctx, sc.Tenant.ID, models.InvitationFilter{Limit: PageSize})
		if err != nil {
			return v, err
		}
		v.Invitations = invs
	}
	return v, nil
}

// readMembers reads a page of members: ?member_q searches their username
// or email, ?after pages by user id.
func (c *Console) readMembers(q *request, sc *tenancy.Scope, v *tenantView) error {
	params := q.r.URL.Query()
	f := models.MemberFilter{Search: strings.TrimSpace(params.Get("member_q")), Limit: PageSize + 1}
	if len([]rune(f.Search)) > 254 {
		f.Search = ""
	}
	if n, err := strconv.ParseInt(params.Get("after"), 10, 64); err == nil && n > 0 {
		f.AfterUserID = n
	}
	members, err := c.tenants.ListMembers(q.r.Context(), sc.Tenant.ID, f)
	if err != nil {
		return err
	}
	v.MemberQ = f.Search
	if len(members) > PageSize {
		members = members[:PageSize]
		next := url.Values{"after": {strconv.FormatInt(members[PageSize-1].UserID, 10)}}
		if f.Search != "" {
			next.Set("member_q", f.Search)
		}
		v.MemberNext = "/console/tenants/" + sc.Tenant.Slug + "?" + next.Encode() + "#members-h"
	}
	for _, m := range members {
		self := m.UserID == q.viewer.ID
		v.Members = append(v.Members, memberRowView{Membership: m, Self: self, CanChange: !self && slices.Contains(v.Grantable, m.Role)})
	}
	return nil
}

func (c *Console) showTenant(q *request, status int, v tenantView) error {
	c.render(q.w, q.r, status, "tenant", q, v)
	return nil
}

// tenantDetail is one tenant's page.
func (c *Console) tenantDetail(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	v, err := c.tenantView(q, sc)
	if err != nil {
		return err
	}
	v.Notice = map[string]string{"saved": "Saved.", "member": "The membership was saved.", "removed": "The member was removed.",
		"revoked": "The invitation was revoked."}[q.r.URL.Query().Get("done")]
	return c.showTenant(q, http.StatusOK, v)
}

// tenantEdit saves the tenant's name, settings and active flag, as the
// API's PATCH does: "tenant, update", and "tenant, delete" too for a
// change of the active flag.
func (c *Console) tenantEdit(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	a := q.tenantAsker()
	d, err := a.Authorize(sc, models.Resource{Type: models.ResourceTenant}, models.ActionUpdate)
	if err != nil {
		return err
	}
	form, patch, fields := tenantPatch(q.r)
	if len(fields) == 0 {
		if err := a.AuthorizeActiveChange(sc, patch.IsActive); err != nil {
			return err
		}
		change, err := c.tenants.UpdateTenant(q.r.Context(), sc.Tenant.ID, patch)
		if err == nil {
			recordTenantUpdate(q, d, change)
			http.Redirect(q.w, q.r, "/console/tenants/"+change.After.Slug+"?done=saved", http.StatusSeeOther)
			return nil
		}
		if models.ErrorCode(err) != models.EINVALID {
			return err
		}
		fields = models.FieldsOf(err)
	}
	v, err := c.tenantView(q, sc)
	if err != nil {
		return err
	}
	v.Form, v.Fields = form, fields
	return c.showTenant(q, http.StatusBadRequest, v)
}

// tenantPatch reads the edit form; the active flag only when the form
// carries it (it does for viewers shown it; a forged one is decided).
func tenantPatch(r *http.Request) (map[string]string, models.TenantPatch, map[string][]string) {
	r.ParseForm()
	form, fields := map[string]string{}, map[string][]string{}
	var p models.TenantPatch
	if r.PostForm.Has("name") {
		s := strings.TrimSpace(r.PostForm.Get("name"))
		form["name"], p.Name = s, &s
	}
	if r.PostForm.Has("settings") {
		s := strings.TrimSpace(r.PostForm.Get("settings"))
		form["settings"] = s
		if !json.Valid([]byte(s)) {
			fields["settings"] = []string{"Enter a valid JSON object."}
		} else {
			p.Settings = json.RawMessage(s)
		}
	}
	if r.PostForm.Has("is_active") {
		s := r.PostForm.Get("is_active")
		form["is_active"] = s
		b, err := strconv.ParseBool(s)
		if err != nil {
			fields["is_active"] = []string{"Must be a valid boolean."}
		} else {
			p.IsActive = &b
		}
	}
	return form, p, fields
}

// recordTenantUpdate records a tenant update as the API does: once, when
// something changed, with the tenant before and after.
func recordTenantUpdate(q *request, d models.Decision, change models.TenantChange) {
	if detail, changed := tenancy.TenantUpdateAudit(change); changed {
		q.recordTenantChange(change.After, d, models.AuditTenantUpdate, tenancy.Target(change.After), detail)
	}
}

// recordTenantChange records a change allowed by d in tenant t, in its
// trail, as the API's events of the same change.
func (q *request) recordTenantChange(t *models.Tenant, d models.Decision, action, target string, detail map[string]any) {
	q.c.record(q.r, q.viewer, models.AuditEvent{
		Action: action, Result: models.AuditSuccess, Target: target, TenantID: t.ID,
		Rule: strings.Join(d.Rule, ", "), PolicyVersion: d.PolicyVersion, Detail: detail,
	})
}

type tenantHistoryView struct {
	Tenant *models.Tenant
	Events []models.AuditEvent
	Next   string
}

// PageTitle names the page after the tenant.
func (v tenantHistoryView) PageTitle() string { return "History of " + v.Tenant.Name }

// tenantHistory is the tenant's own audit trail, for viewers who may read
// it ("tenant_audit, read"), as GET /v1/tenants/{tenant}/audit.
func (c *Console) tenantHistory(q *request) error {
	sc, err := c.enterTenant(q)
	if err != nil {
		return err
	}
	if _, err := q.tenantAsker().Authorize(sc, models.Resource{Type: models.ResourceTenantAudit}, models.ActionRead); err != nil {
		return err
	}
	f := models.AuditFilter{Limit: PageSize + 1, TenantID: sc.Tenant.ID}
	f.Before, _ = decodeAuditCursor(q.r.URL.Query().Get("cursor"))
	events, err := c.auditEvents.ListAuditEvents(q.r.Context(), f)
	if err != nil {
		return err
	}
	v := tenantHistoryView{Tenant: sc.Tenant}
	v.Events, v.Next = auditPage(q.r, events)
	c.render(q.w, q.r, 200, "tenanthistory", q, v)
	return nil
}
