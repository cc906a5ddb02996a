package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/models"
)

const supportGroup = "support"

func groupMemberPath(group string, id int64) string {
	return fmt.Sprintf("/v1/groups/%s/members/%d", group, id)
}

// groupsOf reads user id's groups from the database.
func (e *env) groupsOf(t *testing.T, id int64) []string {
	t.Helper()
	got, err := e.srv.Store.UserGroups(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A user put in the support group may list and read users, and change
// none of them; taken out, they lose it on their next request. Staff, who
// may list and read users anyway, still may not update another.
func TestSupportGroupGrantsReadsOnly(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.newUser(t, roleAdmin)
		other := e.storedUser(t, roleUser)
		for _, role := range []string{roleUser, roleStaff} {
			t.Run(role, func(t *testing.T) {
				u := e.newUser(t, role)
				if role == roleUser {
					wantForbidden(t, e.do(t, http.MethodGet, "/v1/users", u.Access, nil))
				}
				r := e.do(t, http.MethodPut, groupMemberPath(supportGroup, u.ID), admin.Access, nil)
				wantStatus(t, r, http.StatusOK)

				wantStatus(t, e.do(t, http.MethodGet, "/v1/users", u.Access, nil), http.StatusOK)
				r = e.do(t, http.MethodGet, fmt.Sprintf("/v1/users/%d", other.ID), u.Access, nil)
				wantStatus(t, r, http.StatusOK)
				before := e.stored(t, other.ID)
				r = e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", other.ID), u.Access, obj{"first_name": "Changed"})
				wantForbidden(t, r)
				e.wantUnchanged(t, before)

				// Asked about by an admin, the user's groups count too.
				r = e.do(t, http.MethodPost, "/v1/authz/check", admin.Access, obj{"resource": "users", "action": "list", "subject": obj{"user_id": u.ID}})
				wantStatus(t, r, http.StatusOK)
				wantVia := models.ViaGroup
				if role == roleStaff {
					wantVia = models.ViaRole
				}
				if body := r.object(t); body["allowed"] != true || body["via"] != wantVia {
					t.Errorf("check about the %s in support: got %s, want allowed via %s", role, r.Body, wantVia)
				}

				r = e.do(t, http.MethodDelete, groupMemberPath(supportGroup, u.ID), admin.Access, nil)
				wantStatus(t, r, http.StatusNoContent)
				if got := e.groupsOf(t, u.ID); got != nil {
					t.Fatalf("groups after the removal: got %v, want none", got)
				}
				if role == roleUser {
					wantForbidden(t, e.do(t, http.MethodGet, "/v1/users", u.Access, nil))
					wantForbidden(t, e.do(t, http.MethodGet, fmt.Sprintf("/v1/users/%d", other.ID), u.Access, nil))
				}
			})
		}
	})
}

// GET /v1/groups lists the policy's groups with their grants, for admins.
func TestListGroups(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.newUser(t, roleAdmin)
		r := e.do(t, http.MethodGet, "/v1/groups", admin.Access, nil)
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Results []struct {
				Name   string
				Grants []struct {
					Resource, Action, Scope string
					Rule                    []string
					Line                    int
				}
			}
			PolicyVersion string `json:"policy_version"`
		}
		r.decode(t, &body)
		if body.PolicyVersion != r.Header.Get("X-Policy-Version") || body.PolicyVersion == "" {
			t.Errorf("policy_version: got %q, want the header's %q", body.PolicyVersion, r.Header.Get("X-Policy-Version"))
		}
		i := slices.IndexFunc(body.Results, func(g struct {
			Name   string
			Grants []struct {
				Resource, Action, Scope string
				Rule                    []string
				Line                    int
			}
		}) bool {
			return g.Name == supportGroup
		})
		if i < 0 {
			t.Fatalf("got groups %s, want %q among them", r.Body, supportGroup)
		}
		var got []string
		for _, g := range body.Results[i].Grants {
			got = append(got, g.Resource+" "+g.Action+" "+g.Scope)
			if g.Line < 1 || len(g.Rule) != 5 || g.Rule[1] != "group:support" {
				t.Errorf("grant %+v: want its policy line and number", g)
			}
		}
		want := []string{"users list any", "users read any", "tenants list any", "tenant read any", "members list any"}
		if !slices.Equal(got, want) {
			t.Errorf("support's grants: got %v, want %v", got, want)
		}
		for _, role := range []string{roleStaff, roleUser} {
			wantForbidden(t, e.do(t, http.MethodGet, "/v1/groups", e.newUser(t, role).Access, nil))
		}
		wantDenied(t, e.do(t, http.MethodGet, "/v1/groups", "", nil), roleAnonymous)
	})
}

// Adding, listing and removing members: idempotent adds, one audit event
// per change, 404 for unknown groups, users and members, 403 for
// non-admins with nothing written.
func TestGroupMembers(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.newUser(t, roleAdmin)
		a, b := e.storedUser(t, roleUser), e.storedUser(t, roleStaff)
		first := e.do(t, http.MethodPut, groupMemberPath(supportGroup, a.ID), admin.Access, nil)
		wantStatus(t, first, http.StatusOK)
		item := first.object(t)
		wantBody(t, first, obj{
			"user": obj{"id": a.ID, "username": a.Username, "email": a.Email, "first_name": "", "last_name": ""},
			"role": roleUser, "is_active": true, "joined_at": item["joined_at"], "invited_by": admin.ID,
		})
		again := e.do(t, http.MethodPut, groupMemberPath(supportGroup, a.ID), admin.Access, nil)
		wantStatus(t, again, http.StatusOK)
		wantBody(t, again, item)
		wantStatus(t, e.do(t, http.MethodPut, groupMemberPath(supportGroup, b.ID), admin.Access, nil), http.StatusOK)

		// Every member, a page of one at a time.
		var ids []int64
		path := "/v1/groups/support/members?limit=1"
		for path != "" {
			r := e.do(t, http.MethodGet, path, admin.Access, nil)
			wantStatus(t, r, http.StatusOK)
			var page struct {
				Results []struct{ User struct{ ID int64 } }
				Next    *string
			}
			r.decode(t, &page)
			if len(page.Results) > 1 {
				t.Fatalf("page %s: got %d members, want at most 1", path, len(page.Results))
			}
			for _, m := range page.Results {
				ids = append(ids, m.User.ID)
			}
			path = ""
			if page.Next != nil {
				path = *page.Next
			}
		}
		if !slices.Contains(ids, a.ID) || !slices.Contains(ids, b.ID) || !slices.IsSorted(ids) {
			t.Errorf("members: got ids %v, want %d and %d among them, ascending", ids, a.ID, b.ID)
		}

		for what, path := range map[string]string{
			"unknown group":     groupMemberPath("no-such-group", a.ID),
			"unknown user":      groupMemberPath(supportGroup, 1<<40),
			"id not an integer": "/v1/groups/support/members/x1",
			"id zero":           groupMemberPath(supportGroup, 0),
		} {
			t.Run(what, func(t *testing.T) {
				wantStatus(t, e.do(t, http.MethodPut, path, admin.Access, nil), http.StatusNotFound)
			})
		}
		wantStatus(t, e.do(t, http.MethodGet, "/v1/groups/no-such-group/members", admin.Access, nil), http.StatusNotFound)
		wantFieldError(t, e.do(t, http.MethodGet, "/v1/groups/support/members?cursor=zz", admin.Access, nil), "cursor")

		for _, role := range []string{roleStaff, roleUser} {
			caller := e.newUser(t, role)
			wantForbidden(t, e.do(t, http.MethodGet, "/v1/groups/support/members", caller.Access, nil))
			victim := e.storedUser(t, roleUser)
			wantForbidden(t, e.do(t, http.MethodPut, groupMemberPath(supportGroup, victim.ID), caller.Access, nil))
			wantForbidden(t, e.do(t, http.MethodPut, groupMemberPath(supportGroup, caller.ID), caller.Access, nil))
			wantForbidden(t, e.do(t, http.MethodDelete, groupMemberPath(supportGroup, a.ID), caller.Access, nil))
			// A non-admin learns nothing of which groups exist.
			wantForbidden(t, e.do(t, http.MethodPut, groupMemberPath("no-such-group", victim.ID), caller.Access, nil))
			if got := e.groupsOf(t, victim.ID); got != nil {
				t.Errorf("%s's refused add: got groups %v, want none", role, got)
			}
		}
		if got := e.groupsOf(t, a.ID); !slices.Equal(got, []string{supportGroup}) {
			t.Errorf("after refused removals: got groups %v, want [support]", got)
		}

		wantStatus(t, e.do(t, http.MethodDelete, groupMemberPath(supportGroup, a.ID), admin.Access, nil), http.StatusNoContent)
		wantStatus(t, e.do(t, http.MethodDelete, groupMemberPath(supportGroup, a.ID), admin.Access, nil), http.StatusNotFound)

		adds := e.waitAudit(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditGroupMemberAdd, Limit: 10}, 2)
		removes := e.waitAudit(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditGroupMemberRemove, Limit: 10}, 1)
		ev := removes[0]
		wantTarget := fmt.Sprintf("groups/support/members/%d", a.ID)
		if ev.Target != wantTarget || ev.Result != models.AuditSuccess || ev.Rule != "admin, groups, assign, any" ||
			ev.Detail["group"] != supportGroup || fmt.Sprint(ev.Detail["member"]) != "map[from:true to:false]" {
			t.Errorf("removal event: got %+v, want target %s, the rule, and member from true to false", ev, wantTarget)
		}
		if got := fmt.Sprint(adds[1].Detail["member"]); got != "map[from:false to:true]" {
			t.Errorf("add event: got member %s, want from false to true", got)
		}
	})
}
