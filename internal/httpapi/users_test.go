package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// testUser is a user to store directly, with a placeholder hash that no
// password matches.
func testUser(name string) *models.User {
	return &models.User{Username: name, Email: name + "@example.com", Role: roleUser, IsActive: true, PasswordHash: "!"}
}

// page is one page of the user list.
type page struct {
	Results []map[string]any `json:"results"`
	Next    *string          `json:"next"`
}

// wantPage checks a 200 list response and returns it.
func wantPage(t *testing.T, r *response) page {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var raw map[string]any
	r.decode(t, &raw)
	if _, ok := raw["next"]; !ok || len(raw) != 2 {
		t.Fatalf("%s: got %s, want {\"results\": [...], \"next\": URL-or-null}", r.What, r.Body)
	}
	var p page
	r.decode(t, &p)
	if p.Results == nil {
		t.Fatalf("%s: got %s, want a results array", r.What, r.Body)
	}
	return p
}

// pathOf returns the path and query of a next link, which without
// ROLEGATE_PUBLIC_URL is relative: a path and a query, no scheme or host.
func pathOf(t *testing.T, next string) string {
	t.Helper()
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(next, "/") {
		t.Fatalf("next: got %q, want a path and query", next)
	}
	return u.RequestURI()
}

// TestNextLinkIgnoresHost checks that a list's next link is never built
// from the request's Host header: without ROLEGATE_PUBLIC_URL it is the
// path and query alone, and with it, it starts with that URL, whatever
// Host, X-Forwarded-Host or X-Forwarded-Proto the client sent.
func TestNextLinkIgnoresHost(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			name, publicURL, want string
		}{
			{"relative", "", "/v1/users?"},
			{"public URL", "https://auth.example.com/idp/", "https://auth.example.com/idp/v1/users?"},
		} {
			t.Run(c.name, func(t *testing.T) {
				env := e
				if c.publicURL != "" {
					env = freshEnvWith(t, e, shippedPolicy, map[string]string{"ROLEGATE_PUBLIC_URL": c.publicURL})
				}
				admin := env.adminToken(t)
				env.newUser(t, roleUser) // at least two users, so limit=1 has a next page
				req, err := env.newRequest(http.MethodGet, "/v1/users?limit=1", admin, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Host = "evil.example"
				req.Header.Set("X-Forwarded-Host", "evil.example")
				req.Header.Set("X-Forwarded-Proto", "https")
				p := wantPage(t, env.send(t, req, nil))
				if p.Next == nil || !strings.HasPrefix(*p.Next, c.want) || strings.Contains(*p.Next, "evil") {
					t.Fatalf("next with Host: evil.example: got %v, want a link starting %q", p.Next, c.want)
				}
			})
		}
	})
}

// walk follows next links from path and returns every user id seen, in
// order, and how many pages there were.
func (e *env) walk(t *testing.T, path, token string) (ids []int64, pages int) {
	t.Helper()
	want, _, _ := strings.Cut(path, "?")
	for {
		p := wantPage(t, e.do(t, http.MethodGet, path, token, nil))
		pages++
		for _, u := range p.Results {
			ids = append(ids, int64(u["id"].(float64)))
		}
		if p.Next == nil {
			return ids, pages
		}
		path = pathOf(t, *p.Next)
		if got, _, _ := strings.Cut(path, "?"); got != want {
			t.Fatalf("next: got path %q, want %q", got, want)
		}
	}
}

// TestListPagination checks that following next walks every user exactly
// once in ascending id order, through every list path.
func TestListPagination(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		token := unique("walk")
		var made []int64
		for range 5 {
			u, err := e.srv.Store.CreateUser(t.Context(), testUser(unique(token+"x")))
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, u.ID)
		}
		for _, path := range []string{"/v1/users", "/admin/users/", "/staff/users/"} {
			ids, pages := e.walk(t, path+"?limit=2&search="+token, admin)
			if !slices.Equal(ids, made) || pages != 3 {
				t.Errorf("%s: got ids %v in %d pages, want %v in 3", path, ids, pages, made)
			}
		}

		all, err := e.srv.Store.ListUsers(t.Context(), models.UserFilter{Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, u := range all {
			want = append(want, u.ID)
		}
		ids, _ := e.walk(t, "/v1/users?limit=2", admin)
		if !slices.Equal(ids, want) {
			t.Errorf("walk of every user: got %d ids %v, want %d ids %v", len(ids), ids, len(want), want)
		}
		if !slices.IsSorted(want) || len(want) < 6 {
			t.Errorf("store order: got %v, want ascending ids of at least 6 users", want)
		}
	})
}

// TestListFilters checks ?role=, ?is_active= and ?search=, which matches a
// substring of the username or the email whatever its case.
func TestListFilters(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		token := unique("filter")
		add := func(username, email, role string, active bool) int64 {
			u := testUser(username)
			u.Email, u.Role, u.IsActive = email, role, active
			created, err := e.srv.Store.CreateUser(t.Context(), u)
			if err != nil {
				t.Fatal(err)
			}
			return created.ID
		}
		staffA := add(token+"-Staff-A", "a@example.com", roleStaff, true)
		staffB := add(token+"-staff-b", "b@example.com", roleStaff, true)
		userOn := add(token+"-user-on", "c@example.com", roleUser, true)
		userOff := add(token+"-user-off", "d@example.com", roleUser, false)
		byEmail := add(unique("mail"), "Who."+strings.ToUpper(token)+"@Example.org", roleAdmin, true)
		admin := e.adminToken(t)
		cases := map[string][]int64{
			"search=" + token:                                {staffA, staffB, userOn, userOff, byEmail},
			"search=" + strings.ToUpper(token):               {staffA, staffB, userOn, userOff, byEmail},
			"search=" + token + "-STAFF":                     {staffA, staffB},
			"search=" + token + "-staff&role=staff":          {staffA, staffB},
			"search=" + token + "&role=user":                 {userOn, userOff},
			"search=" + token + "&role=user&is_active=false": {userOff},
			"search=" + token + "&is_active=true&role=user":  {userOn},
			"search=" + token + "&role=admin":                {byEmail},
			"search=who." + token + "@example":               {byEmail},
			"search=" + token + "&role=superuser":            nil,
			"search=" + token + "_staff":                     nil, // _ is not a wildcard
			"search=" + token + "%25":                        nil, // nor is %
			"search=" + token + "%27%22%5C%3B--":             nil, // quotes, backslash, semicolon
		}
		for query, want := range cases {
			for _, path := range []string{"/v1/users", "/staff/users/"} {
				ids, _ := e.walk(t, path+"?"+query, admin)
				if !slices.Equal(ids, want) {
					t.Errorf("%s?%s: got %v, want %v", path, query, ids, want)
				}
			}
		}
	})
}

// TestAdminCreate checks that an admin creates accounts with any role and
// flag through both routes, and that they work.
func TestAdminCreate(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		for _, path := range []string{"/v1/users", "/admin/users/", "/admin/users", "/v1/users/"} {
			for _, in := range []obj{
				{"role": roleStaff, "first_name": "Sam", "last_name": "Staff", "email": "sam@example.com"},
				{"role": roleUser, "is_active": false},
				{},
			} {
				name := unique("made")
				in["username"], in["password"] = name, newPassword()
				r := e.do(t, http.MethodPost, path, admin, in)
				wantStatus(t, r, http.StatusCreated)
				body := r.object(t)
				stored, err := e.srv.Store.UserByUsername(t.Context(), name)
				if err != nil {
					t.Fatalf("user %q after %s: got %v, want it stored", name, r.What, err)
				}
				wantUser(t, r.What, body["user"], stored)
				wantRole, wantActive := roleUser, true
				if v, ok := in["role"]; ok {
					wantRole = v.(string)
				}
				if v, ok := in["is_active"]; ok {
					wantActive = v.(bool)
				}
				if body["message"] != "User created successfully" || stored.Role != wantRole || stored.IsActive != wantActive {
					t.Errorf("%s: got %s, stored role %q active %v; want the message, role %q, active %v", r.What, r.Body, stored.Role, stored.IsActive, wantRole, wantActive)
				}
				login := e.do(t, http.MethodPost, "/login/", "", obj{"username": name, "password": in["password"]})
				if wantActive {
					wantPair(t, login)
				} else {
					wantBody(t, login, badCredentials)
				}
			}
		}
		wantFieldError(t, e.do(t, http.MethodPost, "/v1/users", admin, obj{"username": unique("nopass")}), "password")
	})
}

// TestAdminDelete checks that an admin's delete answers 204 with no body
// and the user is gone.
func TestAdminDelete(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		for _, path := range []string{"/admin/users/%d/", "/admin/users/%d", "/v1/users/%d", "/v1/users/%d/"} {
			u := e.newUser(t, roleStaff)
			r := e.do(t, http.MethodDelete, fmt.Sprintf(path, u.ID), admin, nil)
			wantStatus(t, r, http.StatusNoContent)
			e.wantGone(t, u.ID)
			wantStatus(t, e.do(t, http.MethodGet, fmt.Sprintf(path, u.ID), admin, nil), http.StatusNotFound)
			wantStatus(t, e.do(t, http.MethodDelete, fmt.Sprintf(path, u.ID), admin, nil), http.StatusNotFound)
		}
	})
}

// TestLastAdmin checks that the last active admin cannot be deleted,
// deactivated or demoted, by anyone, on a server of its own so that no
// other test's admins count.
func TestLastAdmin(t *testing.T) {
	forEach(t, func(t *testing.T, shared *env) {
		e := freshEnv(t, shared, shippedPolicy)
		first := *e.admin
		e.login(t, &first)
		wantLastAdminKept := func(actor, target *user) {
			t.Helper()
			before := e.stored(t, target.ID)
			path := fmt.Sprintf("/v1/users/%d", target.ID)
			for _, req := range []struct {
				method string
				body   any
			}{
				{http.MethodDelete, nil},
				{http.MethodPatch, obj{"role": roleStaff}},
				{http.MethodPut, obj{"role": roleUser, "first_name": "Demoted"}},
				{http.MethodPatch, obj{"is_active": false}},
			} {
				r := e.do(t, req.method, path, actor.Access, req.body)
				wantStatus(t, r, http.StatusConflict)
				if got := r.object(t)["code"]; got != "conflict" {
					t.Errorf("%s: got code %v, want conflict", r.What, got)
				}
			}
			if actor == target {
				r := e.do(t, http.MethodPatch, "/me/", actor.Access, obj{"role": roleUser})
				wantStatus(t, r, http.StatusConflict)
			}
			e.wantUnchanged(t, before)
		}
		wantLastAdminKept(&first, &first)

		// An inactive admin does not count.
		idle, err := e.insertUser(t.Context(), roleAdmin, false)
		if err != nil {
			t.Fatal(err)
		}
		wantLastAdminKept(&first, &first)

		// With a second active admin, either may go; then the other is
		// the last.
		second := e.newUser(t, roleAdmin)
		wantStatus(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", first.ID), second.Access, obj{"role": roleStaff}), http.StatusOK)
		if got := e.stored(t, first.ID).Role; got != roleStaff {
			t.Fatalf("demoted admin: got role %q, want %q", got, roleStaff)
		}
		wantLastAdminKept(second, second)

		wantStatus(t, e.do(t, http.MethodPatch, fmt.Sprintf("/admin/users/%d/", idle.ID), second.Access, obj{"is_active": true}), http.StatusOK)
		wantStatus(t, e.do(t, http.MethodDelete, fmt.Sprintf("/admin/users/%d/", second.ID), second.Access, nil), http.StatusNoContent)
		e.wantGone(t, second.ID)
		e.login(t, idle)
		wantLastAdminKept(idle, idle)
	})
}

// TestAdminResetPassword checks that an admin's reset sets the password
// and ends every session of the user.
func TestAdminResetPassword(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		u := e.newUser(t, roleUser)
		otherDevice := *u
		e.login(t, &otherDevice)
		path := fmt.Sprintf("/v1/users/%d/password", u.ID)

		before := e.stored(t, u.ID)
		for _, body := range []obj{{"new_password": "Zq7!xw"}, {"new_password": u.Username}, {}, {"new_password": ""}} {
			wantFieldError(t, e.do(t, http.MethodPost, path, admin, body), "new_password")
		}
		wantFieldError(t, e.do(t, http.MethodPost, path, admin, obj{"password": newPassword()}), "password")
		e.wantUnchanged(t, before)
		wantStatus(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil), http.StatusOK)

		password := newPassword()
		r := e.do(t, http.MethodPost, path, admin, obj{"new_password": password})
		wantStatus(t, r, http.StatusOK)
		for _, d := range []*user{u, &otherDevice} {
			wantTokenRefused(t, e.do(t, http.MethodGet, "/v1/me", d.Access, nil))
			wantTokenRefused(t, e.refresh(t, "/token/refresh/", d.Refresh))
		}
		wantBody(t, e.do(t, http.MethodPost, "/login/", "", obj{"username": u.Username, "password": u.Password}), badCredentials)
		u.Password = password
		e.login(t, u)
		wantStatus(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil), http.StatusOK)
	})
}

// TestPolicyChange checks that lines added to policy.csv change what a
// role may do, with no code change: on a server started with them staff
// may delete users, and create them, though creating one with another
// role or inactive is still assign_role, which staff are not granted. The
// shipped policy refuses staff both.
func TestPolicyChange(t *testing.T) {
	shipped, err := os.ReadFile(shippedPolicy)
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "policy.csv")
	lines := "\np, staff, users, delete, any\np, staff, users, create, any\n"
	if err := os.WriteFile(changed, append(shipped, lines...), 0o600); err != nil {
		t.Fatal(err)
	}
	forEach(t, func(t *testing.T, shared *env) {
		staff := shared.newUser(t, roleStaff)
		target := shared.storedUser(t, roleUser)
		before := shared.stored(t, target.ID)
		wantForbidden(t, shared.do(t, http.MethodDelete, fmt.Sprintf("/admin/users/%d/", target.ID), staff.Access, nil))
		shared.wantUnchanged(t, before)
		name := unique("bystaff")
		wantForbidden(t, shared.do(t, http.MethodPost, "/v1/users", staff.Access, obj{"username": name, "password": newPassword()}))
		shared.wantNoUsername(t, name)

		e := freshEnv(t, shared, changed)
		staff = e.newUser(t, roleStaff)
		target = e.storedUser(t, roleUser)
		r := e.do(t, http.MethodDelete, fmt.Sprintf("/admin/users/%d/", target.ID), staff.Access, nil)
		wantStatus(t, r, http.StatusNoContent)
		e.wantGone(t, target.ID)
		if got, old := r.Header.Get("X-Policy-Version"), shared.srv.Policy.Current().Version(); got != e.srv.Policy.Current().Version() || got == old {
			t.Errorf("%s: got X-Policy-Version %q, want the changed policy's, not the shipped %q", r.What, got, old)
		}

		name = unique("bystaff")
		r = e.do(t, http.MethodPost, "/v1/users", staff.Access, obj{"username": name, "password": newPassword()})
		wantStatus(t, r, http.StatusCreated)
		if got, err := e.srv.Store.UserByUsername(t.Context(), name); err != nil || got.Role != roleUser {
			t.Errorf("user created by staff: got %+v (%v), want role %q", got, err, roleUser)
		}
		for _, access := range []obj{{"role": roleAdmin}, {"role": roleStaff}, {"is_active": false}} {
			name := unique("bystaff")
			access["username"], access["password"] = name, newPassword()
			wantForbidden(t, e.do(t, http.MethodPost, "/admin/users/", staff.Access, access))
			e.wantNoUsername(t, name)
		}
		other := e.storedUser(t, roleUser)
		before = e.stored(t, other.ID)
		wantForbidden(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", other.ID), staff.Access, obj{"role": roleStaff}))
		e.wantUnchanged(t, before)
	})
}

// TestTrailingSlash checks that every route answers with and without its
// trailing slash.
func TestTrailingSlash(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		id := e.storedUser(t, roleUser).ID
		paths := []string{"/me/", "/v1/me", "/admin/users/", "/staff/users/", "/v1/users",
			fmt.Sprintf("/admin/users/%d/", id), fmt.Sprintf("/v1/users/%d", id), "/admin-area/"}
		for _, p := range paths {
			toggled := strings.TrimSuffix(p, "/")
			if toggled == p {
				toggled = p + "/"
			}
			for _, path := range []string{p, toggled} {
				wantStatus(t, e.do(t, http.MethodGet, path, admin, nil), http.StatusOK)
			}
		}
		u := e.storedUser(t, roleUser)
		for _, path := range []string{"/login", "/login/", "/v1/auth/login/"} {
			wantPair(t, e.do(t, http.MethodPost, path, "", obj{"username": u.Username, "password": u.Password}))
		}
	})
}

// TestHealth checks liveness and readiness.
func TestHealth(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		r := e.do(t, http.MethodGet, "/healthz", "", nil)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, obj{"status": "ok"})
		r = e.do(t, http.MethodGet, "/readyz", "", nil)
		wantStatus(t, r, http.StatusOK)
		want := e.srv.Policy.Current().Version()
		wantBody(t, r, obj{"status": "ready", "policy_version": want})
	})
}
