package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// tenantFixture is a tenant with an owner, an admin and a user as
// members, all made in the store.
type tenantFixture struct {
	tenant                  *models.Tenant
	owner, tadmin, plainMem *models.User
}

func (e *env) tenant(t *testing.T, name string) tenantFixture {
	t.Helper()
	ctx := t.Context()
	f := tenantFixture{owner: e.user(t, "user"), tadmin: e.user(t, "user"), plainMem: e.user(t, "user")}
	slug := strings.ToLower(unique("t-"))
	tn, err := e.srv.Store.CreateTenant(ctx, &models.Tenant{Slug: slug, Name: name, IsActive: true}, f.owner.ID, "owner")
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = tn
	e.member(t, tn.ID, f.tadmin.ID, "admin")
	e.member(t, tn.ID, f.plainMem.ID, "user")
	return f
}

func (e *env) member(t *testing.T, tenantID, userID int64, role string) {
	t.Helper()
	if _, err := e.srv.Store.PutMember(t.Context(), tenantID, userID, models.MemberPatch{Role: &role}, models.TenantGuard{}, nil); err != nil {
		t.Fatal(err)
	}
}

// roleIn is user userID's role in the tenant as stored, "" for none.
func (e *env) roleIn(t *testing.T, tenantID, userID int64) string {
	t.Helper()
	m, err := e.srv.Store.MemberOf(t.Context(), tenantID, userID)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return m.Role
}

func (e *env) pendingInvitations(t *testing.T, tenantID int64) []*models.Invitation {
	t.Helper()
	invs, err := e.srv.Store.ListInvitations(t.Context(), tenantID, models.InvitationFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return invs
}

// auditEvent polls the audit trail (written in the background) for the
// first event of f, and fails after 5 s without one.
func (e *env) auditEvent(t *testing.T, f models.AuditFilter) models.AuditEvent {
	t.Helper()
	f.Limit = 1
	deadline := time.Now().Add(5 * time.Second)
	for {
		events, err := e.srv.Store.ListAuditEvents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) > 0 {
			return events[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit event matches %+v", f)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTenantPagesByRole: the tenants section is shown to admin (with
// every control) and staff (read-only), and never to a regular user.
func TestTenantPagesByRole(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		f := e.tenant(t, "Acme Widgets")
		e.tenant(t, "Zenith Tools")
		base := "/console/tenants/" + f.tenant.Slug

		admin := e.signIn(t, "admin")
		wantContains(t, admin.get(t, "/console/"), `href="/console/tenants"`)
		r := admin.get(t, "/console/tenants")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "Acme Widgets", "Zenith Tools", f.tenant.Slug)
		r = admin.get(t, base)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, f.owner.Username, f.tadmin.Username, f.plainMem.Username, "Change role", "Remove", "Create invitation",
			"Add member", `name="name"`, `name="is_active"`, "Save", base+"/history")
		r = admin.get(t, base+"/history")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "History of Acme Widgets")
		r = admin.get(t, base+"?member_q="+url.QueryEscape(f.tadmin.Username))
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, f.tadmin.Username)
		wantLacks(t, r, f.owner.Username+"<", f.plainMem.Username+"<")

		staff := e.signIn(t, "staff")
		wantContains(t, staff.get(t, "/console/"), `href="/console/tenants"`)
		r = staff.get(t, "/console/tenants")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "Acme Widgets", "Zenith Tools")
		r = staff.get(t, base)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, f.owner.Username, f.plainMem.Username)
		wantLacks(t, r, "Change role", ">Remove<", "Create invitation", "Add member", "Save", "/history", "Pending invitations")
		wantStatus(t, staff.get(t, base+"/history"), http.StatusForbidden)

		guest := e.signIn(t, "user")
		for _, path := range []string{"/console/tenants", base, base + "/history"} {
			r = guest.get(t, path)
			wantStatus(t, r, http.StatusForbidden)
			wantLacks(t, r, "Acme Widgets")
		}
		// An unknown tenant is not found, for anyone who may list tenants.
		wantStatus(t, admin.get(t, "/console/tenants/no-such-tenant"), http.StatusNotFound)
	})
}

// TestTenantListQuery: search, the active filter, sort and paging, in
// the users list's spelling.
func TestTenantListQuery(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		owner := e.user(t, "user")
		for i := range 53 {
			s := fmt.Sprintf("shop-%02d", i)
			if _, err := e.srv.Store.CreateTenant(ctx, &models.Tenant{Slug: s, Name: fmt.Sprintf("Shop %02d", i), IsActive: i%2 == 0}, owner.ID, "owner"); err != nil {
				t.Fatal(err)
			}
		}
		admin := e.signIn(t, "admin")
		r := admin.get(t, "/console/tenants?q=SHOP+1")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "<strong>10</strong> tenants", "shop-10", "shop-19")
		wantLacks(t, r, "shop-20", "shop-01")

		r = admin.get(t, "/console/tenants?is_active=false&q=shop")
		wantContains(t, r, "<strong>26</strong> tenants", "shop-01")
		wantLacks(t, r, "shop-02<")

		r = admin.get(t, "/console/tenants?q=shop&o=-slug")
		wantStatus(t, r, http.StatusOK)
		if i, j := strings.Index(r.body, "shop-52"), strings.Index(r.body, "shop-51"); i < 0 || j < 0 || i > j {
			t.Errorf("-slug: shop-52 should come before shop-51")
		}
		wantContains(t, r, "<strong>53</strong> tenants", `rel="next"`)
		wantLacks(t, r, ">shop-00<", ">shop-02<")
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(r.body)
		r = admin.get(t, strings.ReplaceAll(next[1], "&amp;", "&"))
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, ">shop-02<", ">shop-01<", ">shop-00<")
		wantLacks(t, r, ">shop-03<", `rel="next"`)

		r = admin.get(t, "/console/tenants?o=bogus&is_active=maybe")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "Unknown sort order", "is_active must be true or false")
	})
}

// TestTenantForgedPosts: staff, shown no control, POST every tenant
// change: each is 403 and the database is unchanged.
func TestTenantForgedPosts(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		f := e.tenant(t, "Forged Inc")
		admin := e.signIn(t, "admin")
		base := "/console/tenants/" + f.tenant.Slug
		r := admin.postCSRF(t, base+"/invitations", url.Values{"email": {"new@example.com"}, "role": {"user"}})
		wantStatus(t, r, http.StatusCreated)
		inv := e.pendingInvitations(t, f.tenant.ID)[0]

		staff := e.signIn(t, "staff")
		outsider := e.user(t, "user")
		for _, c := range []struct {
			path string
			form url.Values
		}{
			{fmt.Sprintf("%s/members/%d", base, f.plainMem.ID), url.Values{"role": {"admin"}}},
			{fmt.Sprintf("%s/members/%d/remove", base, f.plainMem.ID), nil},
			{base + "/members", url.Values{"user": {outsider.Username}, "role": {"user"}}},
			{base + "/invitations", url.Values{"email": {"x@example.com"}, "role": {"user"}}},
			{fmt.Sprintf("%s/invitations/%d/revoke", base, inv.ID), nil},
			{base, url.Values{"name": {"Renamed"}}},
		} {
			r := staff.postCSRF(t, c.path, c.form)
			wantStatus(t, r, http.StatusForbidden)
			wantContains(t, r, "does not let you")
		}
		if got := e.roleIn(t, f.tenant.ID, f.plainMem.ID); got != "user" {
			t.Errorf("member's role: got %q, want user", got)
		}
		if got := e.roleIn(t, f.tenant.ID, outsider.ID); got != "" {
			t.Errorf("outsider became a member with %q", got)
		}
		if got := e.pendingInvitations(t, f.tenant.ID); len(got) != 1 || got[0].ID != inv.ID {
			t.Errorf("pending invitations: got %d, want the one made", len(got))
		}
		tn, err := e.srv.Store.TenantByID(t.Context(), f.tenant.ID)
		if err != nil || tn.Name != "Forged Inc" {
			t.Errorf("tenant: got %v, %v; want its name unchanged", tn, err)
		}
		e.auditEvent(t, models.AuditFilter{ActorID: staff.ID, Action: models.AuditDecisionDeny, TenantID: f.tenant.ID})

		guest := e.signIn(t, "user")
		r = guest.postCSRF(t, fmt.Sprintf("%s/members/%d/remove", base, f.plainMem.ID), nil)
		wantStatus(t, r, http.StatusForbidden)
		if got := e.roleIn(t, f.tenant.ID, f.plainMem.ID); got != "user" {
			t.Errorf("after the guest: member's role %q, want user", got)
		}
	})
}

// TestTenantMemberChanges: admin changes a role, adds and removes a
// member; each is audited as the API audits it, with via=console. The
// last owner's demotion is refused with a clear message.
func TestTenantMemberChanges(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		f := e.tenant(t, "Members Ltd")
		admin := e.signIn(t, "admin")
		base := "/console/tenants/" + f.tenant.Slug
		tid := f.tenant.ID

		r := admin.postCSRF(t, fmt.Sprintf("%s/members/%d", base, f.plainMem.ID), url.Values{"role": {"manager"}})
		wantStatus(t, r, http.StatusSeeOther)
		if got := e.roleIn(t, tid, f.plainMem.ID); got != "manager" {
			t.Errorf("role: got %q, want manager", got)
		}
		ev := e.auditEvent(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditMemberUpdate, TenantID: tid})
		wantTarget := fmt.Sprintf("tenants/%s/members/%d", f.tenant.Slug, f.plainMem.ID)
		if ev.Target != wantTarget || ev.Detail["via"] != "console" || ev.Rule == "" {
			t.Errorf("member.update event: got target %q detail %v rule %q", ev.Target, ev.Detail, ev.Rule)
		}
		if after, _ := ev.Detail["after"].(map[string]any); after["role"] != "manager" {
			t.Errorf("member.update after: got %v, want role manager", ev.Detail["after"])
		}

		newbie := e.user(t, "user")
		r = admin.postCSRF(t, base+"/members", url.Values{"user": {newbie.Username}, "role": {"readonly"}})
		wantStatus(t, r, http.StatusSeeOther)
		if got := e.roleIn(t, tid, newbie.ID); got != "readonly" {
			t.Errorf("added by username: got %q, want readonly", got)
		}
		e.auditEvent(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditMemberAdd, TenantID: tid})
		byID := e.user(t, "user")
		wantStatus(t, admin.postCSRF(t, base+"/members", url.Values{"user": {fmt.Sprint(byID.ID)}, "role": {"user"}}), http.StatusSeeOther)
		if got := e.roleIn(t, tid, byID.ID); got != "user" {
			t.Errorf("added by id: got %q, want user", got)
		}
		r = admin.postCSRF(t, base+"/members", url.Values{"user": {"nobody-such"}, "role": {"user"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantContains(t, r, "There is no user")
		r = admin.postCSRF(t, base+"/members", url.Values{"user": {newbie.Username}, "role": {"emperor"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantContains(t, r, "is not a tenant role")

		r = admin.postCSRF(t, fmt.Sprintf("%s/members/%d/remove", base, newbie.ID), nil)
		wantStatus(t, r, http.StatusSeeOther)
		if got := e.roleIn(t, tid, newbie.ID); got != "" {
			t.Errorf("removed member still has %q", got)
		}
		ev = e.auditEvent(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditMemberRemove, TenantID: tid})
		if ev.Detail["left"] != false || ev.Detail["via"] != "console" {
			t.Errorf("member.remove detail: got %v", ev.Detail)
		}

		// The owner is the last one: demoting or removing them is refused.
		r = admin.postCSRF(t, fmt.Sprintf("%s/members/%d", base, f.owner.ID), url.Values{"role": {"admin"}})
		wantStatus(t, r, http.StatusConflict)
		wantContains(t, r, "last active owner", "Make another member an owner first")
		wantStatus(t, admin.postCSRF(t, fmt.Sprintf("%s/members/%d/remove", base, f.owner.ID), nil), http.StatusConflict)
		if got := e.roleIn(t, tid, f.owner.ID); got != "owner" {
			t.Errorf("last owner: got %q, want owner", got)
		}
	})
}

// TestTenantGrantCap: a staff member who is the tenant's admin may grant
// only what tenant:admin may, and never changes their own membership.
func TestTenantGrantCap(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		f := e.tenant(t, "Capped")
		base := "/console/tenants/" + f.tenant.Slug
		staff := e.signIn(t, "staff")
		e.member(t, f.tenant.ID, staff.ID, "admin")

		r := staff.get(t, base)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "Change role", "Create invitation")
		wantLacks(t, r, "<option>owner</option>")

		// Up to owner: beyond the cap.
		r = staff.postCSRF(t, fmt.Sprintf("%s/members/%d", base, f.plainMem.ID), url.Values{"role": {"owner"}})
		wantStatus(t, r, http.StatusForbidden)
		// The owner's role: taking it is beyond the cap too.
		wantStatus(t, staff.postCSRF(t, fmt.Sprintf("%s/members/%d", base, f.owner.ID), url.Values{"role": {"user"}}), http.StatusForbidden)
		wantStatus(t, staff.postCSRF(t, fmt.Sprintf("%s/members/%d/remove", base, f.owner.ID), nil), http.StatusForbidden)
		wantStatus(t, staff.postCSRF(t, base+"/invitations", url.Values{"email": {"boss@example.com"}, "role": {"owner"}}), http.StatusForbidden)
		// Their own membership.
		r = staff.postCSRF(t, fmt.Sprintf("%s/members/%d", base, staff.ID), url.Values{"role": {"manager"}})
		wantStatus(t, r, http.StatusForbidden)
		wantContains(t, r, "Nobody changes their own tenant role")
		for id, want := range map[int64]string{f.plainMem.ID: "user", f.owner.ID: "owner", staff.ID: "admin"} {
			if got := e.roleIn(t, f.tenant.ID, id); got != want {
				t.Errorf("user %d: got %q, want %q", id, got, want)
			}
		}
		if got := e.pendingInvitations(t, f.tenant.ID); len(got) != 0 {
			t.Errorf("got %d invitations, want none", len(got))
		}
		// Within the cap it works.
		wantStatus(t, staff.postCSRF(t, fmt.Sprintf("%s/members/%d", base, f.plainMem.ID), url.Values{"role": {"manager"}}), http.StatusSeeOther)
		if got := e.roleIn(t, f.tenant.ID, f.plainMem.ID); got != "manager" {
			t.Errorf("within the cap: got %q, want manager", got)
		}
	})
}

var acceptLinkRE = regexp.MustCompile(`value="(/v1/invitations/accept#token=[A-Z0-9]+)"`)

// TestTenantInvitations: admin invites (the accept link shown once, the
// token stored only hashed) and revokes; bad input changes nothing.
func TestTenantInvitations(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		f := e.tenant(t, "Inviting")
		base := "/console/tenants/" + f.tenant.Slug
		admin := e.signIn(t, "admin")

		r := admin.postCSRF(t, base+"/invitations", url.Values{"email": {" Guest@Example.com "}, "role": {"manager"}})
		wantStatus(t, r, http.StatusCreated)
		wantContains(t, r, "Invitation created", `data-copy="accept-link"`, "Guest@Example.com")
		m := acceptLinkRE.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("no accept link in the page")
		}
		invs := e.pendingInvitations(t, f.tenant.ID)
		if len(invs) != 1 || invs[0].Email != "Guest@Example.com" || invs[0].Role != "manager" {
			t.Fatalf("pending: got %+v", invs)
		}
		ev := e.auditEvent(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditInvitationCreate, TenantID: f.tenant.ID})
		if ev.Target != fmt.Sprintf("tenants/%s/invitations/%d", f.tenant.Slug, invs[0].ID) || ev.Detail["via"] != "console" ||
			strings.Contains(fmt.Sprint(ev.Detail), strings.TrimPrefix(m[1], "/v1/invitations/accept#token=")) {
			t.Errorf("invitation.create event: got %q %v", ev.Target, ev.Detail)
		}
		// Shown once: the page again lists it, without the link.
		r = admin.get(t, base)
		wantContains(t, r, "Pending invitations", "Guest@Example.com", "Revoke")
		wantLacks(t, r, "accept#token=")

		for _, bad := range []url.Values{{"email": {"not-an-email"}, "role": {"user"}}, {"email": {"a@b.c"}, "role": {"emperor"}}} {
			r = admin.postCSRF(t, base+"/invitations", bad)
			wantStatus(t, r, http.StatusBadRequest)
			wantContains(t, r, `aria-invalid="true"`)
		}
		if got := e.pendingInvitations(t, f.tenant.ID); len(got) != 1 {
			t.Errorf("after bad input: got %d invitations, want 1", len(got))
		}

		r = admin.postCSRF(t, fmt.Sprintf("%s/invitations/%d/revoke", base, invs[0].ID), nil)
		wantStatus(t, r, http.StatusSeeOther)
		if got := e.pendingInvitations(t, f.tenant.ID); len(got) != 0 {
			t.Errorf("after revoke: got %d pending, want 0", len(got))
		}
		e.auditEvent(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditInvitationRevoke, TenantID: f.tenant.ID})
		wantStatus(t, admin.postCSRF(t, fmt.Sprintf("%s/invitations/%d/revoke", base, invs[0].ID), nil), http.StatusNotFound)
	})
}

// TestTenantEditHistoryAndAuditFilter: admin renames a tenant, which its
// history and the audit section's tenant filter (and its CSV) show.
func TestTenantEditHistoryAndAuditFilter(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		f := e.tenant(t, "Old Name")
		other := e.tenant(t, "Other Co")
		base := "/console/tenants/" + f.tenant.Slug
		admin := e.signIn(t, "admin")

		r := admin.postCSRF(t, base, url.Values{"name": {"New Name"}, "settings": {"[1"}, "is_active": {"true"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantContains(t, r, "Enter a valid JSON object")
		r = admin.postCSRF(t, base, url.Values{"name": {"New Name"}, "settings": {`{"plan":"gold"}`}, "is_active": {"true"}})
		wantStatus(t, r, http.StatusSeeOther)
		tn, err := e.srv.Store.TenantByID(t.Context(), f.tenant.ID)
		if err != nil || tn.Name != "New Name" || !strings.Contains(string(tn.Settings), "gold") {
			t.Fatalf("tenant: got %+v, %v", tn, err)
		}
		ev := e.auditEvent(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditTenantUpdate, TenantID: f.tenant.ID})
		if before, _ := ev.Detail["before"].(map[string]any); before["name"] != "Old Name" || ev.Detail["via"] != "console" {
			t.Errorf("tenant.update detail: got %v", ev.Detail)
		}
		wantStatus(t, admin.postCSRF(t, "/console/tenants/"+other.tenant.Slug+"/members/"+fmt.Sprint(other.plainMem.ID), url.Values{"role": {"readonly"}}), http.StatusSeeOther)
		e.auditEvent(t, models.AuditFilter{Action: models.AuditMemberUpdate, TenantID: other.tenant.ID})

		r = admin.get(t, base+"/history")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "tenant.update", "tenants/"+f.tenant.Slug)
		wantLacks(t, r, "tenants/"+other.tenant.Slug)

		r = admin.get(t, "/console/audit?tenant="+f.tenant.Slug)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "tenant.update")
		wantLacks(t, r, "tenants/"+other.tenant.Slug)
		r = admin.get(t, fmt.Sprintf("/console/audit?tenant=%d", other.tenant.ID))
		wantContains(t, r, "tenants/"+other.tenant.Slug)
		wantLacks(t, r, "tenants/"+f.tenant.Slug+"<")
		r = admin.get(t, "/console/audit?tenant=no-such")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "There is no tenant", "No events.")
		r = admin.get(t, "/console/audit/export.csv?tenant="+f.tenant.Slug)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.body, "tenant.update") || strings.Contains(r.body, other.tenant.Slug) {
			t.Errorf("CSV with the tenant filter:\n%.800s", r.body)
		}
	})
}
