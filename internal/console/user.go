package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// AuditUserSessionsEnd is the audit action of "end all sessions".
const AuditUserSessionsEnd = models.AuditUserSessionsEnd

type userView struct {
	User     *models.User
	Roles    []string
	Sessions models.UserSessions
	// Form holds the edit form's values as sent, after a field error.
	Form   map[string]string
	Fields map[string][]string
	// PasswordFields are the reset form's field errors.
	PasswordFields map[string][]string
	Notice         string
	CanEdit        bool
	CanAssign      bool
	CanReset       bool
	CanDelete      bool
	CanHistory     bool
	// Memberships are the user's tenants, active or not, shown to a viewer
	// who may list tenant members; Groups are their groups, shown to one
	// who may read the groups.
	Memberships     []models.MemberTenant
	MoreMemberships bool
	ShowMemberships bool
	Groups          []string
	ShowGroups      bool
}

// maxMemberships is how many of a user's tenants their page lists.
const maxMemberships = 100

// PageTitle names the page after the user.
func (v userView) PageTitle() string { return v.User.Username }

// FormValue is the edit form's value of a field: as sent after an error,
// else the user's.
func (v userView) FormValue(field string) string {
	if s, ok := v.Form[field]; ok {
		return s
	}
	switch field {
	case "email":
		return v.User.Email
	case "first_name":
		return v.User.FirstName
	case "last_name":
		return v.User.LastName
	case "role":
		return v.User.Role
	case "is_active":
		return strconv.FormatBool(v.User.IsActive)
	}
	return ""
}

// pathUserID is the {id} of the path; anything but a canonical positive
// integer is not found.
func pathUserID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, errNotFound
	}
	return id, nil
}

// readableUser decides read on the user before looking it up, so that a
// viewer who may not read it cannot tell whether it exists.
func (c *Console) readableUser(q *request) (*models.User, error) {
	id, err := pathUserID(q.r)
	if err != nil {
		return nil, err
	}
	if err := q.authorize(models.Resource{Type: models.ResourceUsers, OwnerID: id}, models.ActionRead); err != nil {
		return nil, err
	}
	return c.users.UserByID(q.r.Context(), id)
}

func (c *Console) userView(q *request, u *models.User) (userView, error) {
	v := userView{
		User: u, Roles: q.pol.Roles(),
		CanEdit:    q.CanOn(models.ResourceUsers, models.ActionUpdate, u.ID),
		CanAssign:  q.CanOn(models.ResourceUsers, models.ActionAssignRole, u.ID),
		CanReset:   q.CanOn(models.ResourceUsers, models.ActionResetPassword, u.ID),
		CanDelete:  q.CanOn(models.ResourceUsers, models.ActionDelete, u.ID),
		CanHistory: q.Can(models.ResourceAudit, models.ActionRead),
	}
	var err error
	if v.Sessions, err = c.sessions.ActiveSessions(q.r.Context(), u.ID, c.now()); err != nil {
		return v, err
	}
	return v, c.userMemberships(q, &v)
}

// userMemberships fills in the user's tenants and groups, each for a
// viewer who may see them.
func (c *Console) userMemberships(q *request, v *userView) error {
	ctx := q.r.Context()
	if v.ShowMemberships = q.Can(models.ResourceMembers, models.ActionList); v.ShowMemberships {
		ms, err := c.userTenants.ListTenantsOf(ctx, v.User.ID, models.TenantFilter{Limit: maxMemberships + 1, WithInactive: true})
		if err != nil {
			return err
		}
		if len(ms) > maxMemberships {
			ms, v.MoreMemberships = ms[:maxMemberships], true
		}
		v.Memberships = ms
	}
	if v.ShowGroups = q.Can(models.ResourceGroups, models.ActionRead); v.ShowGroups {
		groups, err := c.groups.UserGroups(ctx, v.User.ID)
		if err != nil {
			return err
		}
		v.Groups = groups
	}
	return nil
}

func (c *Console) showUser(q *request, status int, v userView) error {
	c.render(q.w, q.r, status, "user", q, v)
	return nil
}

// userDetail is one user's page: the profile, the edit form, the password
// reset, the sessions, as the viewer's grants allow.
func (c *Console) userDetail(q *request) error {
	u, err := c.readableUser(q)
	if err != nil {
		return err
	}
	v, err := c.userView(q, u)
	if err != nil {
		return err
	}
	v.Notice = map[string]string{"saved": "Saved.", "reset": "Password reset; all of the user's sessions have ended.",
		"ended": "All of the user's sessions have ended."}[q.r.URL.Query().Get("done")]
	return c.showUser(q, http.StatusOK, v)
}

// userEdit saves the edit form. The update is decided before the user is
// read; a role or active-flag change also needs assign_role, decided on the
// row as the write locks it. Field errors are the API's.
func (c *Console) userEdit(q *request) error {
	id, err := pathUserID(q.r)
	if err != nil {
		return err
	}
	target := models.Resource{Type: models.ResourceUsers, OwnerID: id}
	upd, err := q.allowed(target, models.ActionUpdate)
	if err != nil {
		return err
	}
	q.r.Body = http.MaxBytesReader(q.w, q.r.Body, 64<<10)
	if err := q.r.ParseForm(); err != nil {
		return models.Errorf(models.EINVALID, "The form could not be read.")
	}
	form, patch := editPatch(q.r)
	fields := models.FieldsOf(account.Validate(patch))
	if patch.Role != nil && !q.pol.HasRole(*patch.Role) {
		fields["role"] = append(fields["role"], fmt.Sprintf("%q is not a valid choice.", *patch.Role))
	}
	if form["is_active"] != "" && patch.IsActive == nil {
		fields["is_active"] = append(fields["is_active"], "Must be a valid boolean.")
	}
	if len(fields) > 0 {
		u, err := c.readableUser(q)
		if err != nil {
			return err
		}
		v, err := c.userView(q, u)
		if err != nil {
			return err
		}
		v.Form, v.Fields = form, fields
		return c.showUser(q, http.StatusBadRequest, v)
	}
	var assign models.Decision
	if patch.TouchesAccess() {
		if assign, err = q.decide(target, models.ActionAssignRole); err != nil {
			return err
		}
	}
	check := func(locked *models.User, p models.UserPatch) error {
		if p.ChangesAccess(locked) && !assign.Allowed {
			q.recordDeny(assign, target, models.ActionAssignRole)
			return &models.Error{Code: models.EFORBIDDEN, Message: "The policy does not let you change this user's role or active flag."}
		}
		return nil
	}
	change, err := c.users.UpdateUser(q.r.Context(), id, patch, q.pol.AdminGuard(), check)
	if err != nil {
		return err
	}
	recordUpdate(q, upd, assign, change)
	http.Redirect(q.w, q.r, fmt.Sprintf("/console/users/%d?done=saved", id), http.StatusSeeOther)
	return nil
}

// editPatch reads the edit form: the profile fields, and the role and
// active flag when the form carries them (it does only for viewers shown
// those controls; a forged one is decided like any other).
func editPatch(r *http.Request) (map[string]string, models.UserPatch) {
	form := map[string]string{}
	var p models.UserPatch
	str := func(name string) *string {
		if !r.PostForm.Has(name) {
			return nil
		}
		s := strings.TrimSpace(r.PostForm.Get(name))
		form[name] = s
		return &s
	}
	p.Email, p.FirstName, p.LastName, p.Role = str("email"), str("first_name"), str("last_name"), str("role")
	if s := str("is_active"); s != nil {
		if b, err := strconv.ParseBool(*s); err == nil {
			p.IsActive = &b
		}
	}
	return form, p
}

func recordUpdate(q *request, upd, assign models.Decision, change models.UserChange) {
	before, after := change.Before, change.After
	target := userTarget(after.ID)
	var fields []string
	for _, f := range [][3]string{
		{"email", before.Email, after.Email}, {"first_name", before.FirstName, after.FirstName}, {"last_name", before.LastName, after.LastName},
	} {
		if f[1] != f[2] {
			fields = append(fields, f[0])
		}
	}
	if len(fields) > 0 {
		q.recordAllowed(upd, models.AuditUserUpdate, target, map[string]any{"fields": fields})
	}
	access := map[string]any{}
	if before.Role != after.Role {
		access["role"] = map[string]any{"from": before.Role, "to": after.Role}
	}
	if before.IsActive != after.IsActive {
		access["is_active"] = map[string]any{"from": before.IsActive, "to": after.IsActive}
	}
	if len(access) > 0 {
		q.recordAllowed(assign, models.AuditUserRoleChange, target, access)
	}
}

// userResetPassword sets the user's password, as the API's reset does,
// which ends all of the user's sessions.
func (c *Console) userResetPassword(q *request) error {
	id, err := pathUserID(q.r)
	if err != nil {
		return err
	}
	d, err := q.allowed(models.Resource{Type: models.ResourceUsers, OwnerID: id}, models.ActionResetPassword)
	if err != nil {
		return err
	}
	u, err := c.users.UserByID(q.r.Context(), id)
	if err != nil {
		return err
	}
	pw := q.r.PostFormValue("new_password")
	if pw == "" {
		err = models.FieldError("new_password", "This field may not be blank.")
	} else {
		_, err = c.auth.SetPassword(q.r.Context(), u, pw, models.AdminGuard{}, hashBucket(clientOf(q.r)))
	}
	if models.ErrorCode(err) == models.EINVALID {
		v, verr := c.userView(q, u)
		if verr != nil {
			return verr
		}
		v.PasswordFields = models.FieldsOf(err)
		return c.showUser(q, http.StatusBadRequest, v)
	}
	if err != nil {
		return err
	}
	q.recordAllowed(d, models.AuditUserPasswordReset, userTarget(id), nil)
	http.Redirect(q.w, q.r, fmt.Sprintf("/console/users/%d?done=reset", id), http.StatusSeeOther)
	return nil
}

// userEndSessions ends every session of the user, API and console. It
// needs reset_password, the grant whose use already ends them all.
func (c *Console) userEndSessions(q *request) error {
	id, err := pathUserID(q.r)
	if err != nil {
		return err
	}
	d, err := q.allowed(models.Resource{Type: models.ResourceUsers, OwnerID: id}, models.ActionResetPassword)
	if err != nil {
		return err
	}
	n, err := c.sessions.EndUserSessions(q.r.Context(), id, c.now())
	if err != nil {
		return err
	}
	q.recordAllowed(d, AuditUserSessionsEnd, userTarget(id), map[string]any{"sessions": n})
	http.Redirect(q.w, q.r, fmt.Sprintf("/console/users/%d?done=ended", id), http.StatusSeeOther)
	return nil
}

type historyView struct {
	User   *models.User
	Events []models.AuditEvent
	Next   string
}

// PageTitle names the page after the user.
func (v historyView) PageTitle() string { return "History of " + v.User.Username }

// userHistory is the audit events about one user: reading the user, and
// the audit trail.
func (c *Console) userHistory(q *request) error {
	u, err := c.readableUser(q)
	if err != nil {
		return err
	}
	if err := q.authorize(models.Resource{Type: models.ResourceAudit}, models.ActionRead); err != nil {
		return err
	}
	f := models.AuditFilter{Limit: PageSize + 1, Target: userTarget(u.ID)}
	f.Before, _ = decodeAuditCursor(q.r.URL.Query().Get("cursor"))
	events, err := c.auditEvents.ListAuditEvents(q.r.Context(), f)
	if err != nil {
		return err
	}
	v := historyView{User: u}
	v.Events, v.Next = auditPage(q.r, events)
	c.render(q.w, q.r, 200, "history", q, v)
	return nil
}

// formField is one text field of the edit form, for the textfield
// template.
type formField struct {
	Name, Label, Type, Value string
	Errors                   []string
}

func fieldOf(v userView, name, label, typ string) formField {
	return formField{Name: name, Label: label, Type: typ, Value: v.FormValue(name), Errors: v.Fields[name]}
}
