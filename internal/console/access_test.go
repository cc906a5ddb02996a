package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/console"
)

// TestWhoGetsIn: the policy's console access lets admin and staff in, and
// shows each the sections they may list; a regular user (the guest) signs
// in but gets the 403 page, and a visitor is sent to the login form.
func TestWhoGetsIn(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		r := admin.get(t, "/console/")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, `href="/console/users"`, `href="/console/policy"`, `href="/console/audit"`, "Latest audit events", "Sign out")

		staff := e.signIn(t, "staff")
		r = staff.get(t, "/console/")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, `href="/console/users"`)
		wantLacks(t, r, `href="/console/policy"`, `href="/console/audit"`, "Latest audit events")

		guest := e.signIn(t, "user")
		for _, path := range []string{"/console/", "/console/users", "/console/policy", "/console/audit", fmt.Sprintf("/console/users/%d", guest.ID)} {
			r = guest.get(t, path)
			wantStatus(t, r, http.StatusForbidden)
			wantContains(t, r, "may not use the staff console")
			wantLacks(t, r, `href="/console/users"`)
		}
		// The guest can still sign out.
		wantStatus(t, guest.postCSRF(t, "/console/logout", nil), http.StatusSeeOther)

		visitor := &person{client: e.browser(e.cons.URL), base: e.cons.URL}
		r = visitor.get(t, "/console/users?q=x")
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/console/login?next=%2Fconsole%2Fusers%3Fq%3Dx" {
			t.Errorf("got Location %q, want the login form with next", loc)
		}
		wantStatus(t, visitor.get(t, "/console/login"), http.StatusOK)
	})
}

// TestSectionsFollowThePolicy: staff read users but have no policy, audit,
// export, bulk or edit controls, and the server refuses those pages.
func TestSectionsFollowThePolicy(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		other := e.user(t, "user")
		staff := e.signIn(t, "staff")
		r := staff.get(t, "/console/users")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, other.Username)
		wantLacks(t, r, "Export CSV", `name="action"`, `type="checkbox"`)
		r = staff.get(t, fmt.Sprintf("/console/users/%d", other.ID))
		wantStatus(t, r, http.StatusOK)
		wantLacks(t, r, "Save", "Reset password", "End all sessions", "Delete this user")
		for _, path := range []string{"/console/policy", "/console/audit", "/console/users/export.csv", "/console/audit/export.csv",
			fmt.Sprintf("/console/users/%d/history", other.ID)} {
			wantStatus(t, staff.get(t, path), http.StatusForbidden)
		}

		admin := e.signIn(t, "admin")
		r = admin.get(t, "/console/users")
		wantContains(t, r, "Export CSV", `value="deactivate"`, `value="delete"`, `type="checkbox"`)
		r = admin.get(t, fmt.Sprintf("/console/users/%d", other.ID))
		wantContains(t, r, "Save", `name="role"`, "Reset password", "End all sessions", "Delete this user")
		wantContains(t, admin.get(t, "/console/policy"), "System layer", "Tenant layer", `href="#L`, "Reload the policy")
	})
}

// TestForgedPostsChangeNothing: a POST for an action the viewer was never
// shown is refused with 403 and the database is unchanged.
func TestForgedPostsChangeNothing(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		victim := e.user(t, "user")
		staff := e.signIn(t, "staff")
		id := fmt.Sprint(victim.ID)
		for _, f := range []struct {
			path string
			form url.Values
		}{
			{"/console/users/bulk", url.Values{"action": {"deactivate"}, "id": {id}}},
			{"/console/users/bulk/apply", url.Values{"action": {"deactivate"}, "id": {id}}},
			{"/console/users/bulk/apply", url.Values{"action": {"delete"}, "id": {id}}},
			{"/console/users/" + id, url.Values{"email": {"owned@example.com"}}},
			{"/console/users/" + id + "/password", url.Values{"new_password": {"Zz9-another-long-one"}}},
			{"/console/users/" + id + "/sessions/end", nil},
			{"/console/policy/reload", nil},
		} {
			r := staff.postCSRF(t, f.path, f.form)
			wantStatus(t, r, http.StatusForbidden)
		}
		// Staff may update their own profile, but not their own role.
		r := staff.postCSRF(t, fmt.Sprintf("/console/users/%d", staff.ID), url.Values{"email": {"me@example.com"}, "role": {"admin"}})
		wantStatus(t, r, http.StatusForbidden)
		if got := e.stored(t, staff.ID); got.Role != "staff" || got.Email == "me@example.com" {
			t.Errorf("got staff %s <%s>, want role and email unchanged", got.Role, got.Email)
		}
		// ... and their own email alone is fine.
		r = staff.postCSRF(t, fmt.Sprintf("/console/users/%d", staff.ID), url.Values{"email": {"me@example.com"}})
		wantStatus(t, r, http.StatusSeeOther)
		if got := e.stored(t, staff.ID).Email; got != "me@example.com" {
			t.Errorf("got email %q, want me@example.com", got)
		}
		got := e.stored(t, victim.ID)
		if !got.IsActive || got.Email != victim.Email || got.PasswordHash != victim.PasswordHash {
			t.Errorf("got victim %+v, want unchanged", got)
		}

		guest := e.signIn(t, "user")
		wantStatus(t, guest.postCSRF(t, "/console/users/bulk/apply", url.Values{"action": {"deactivate"}, "id": {id}}), http.StatusForbidden)
		if !e.stored(t, victim.ID).IsActive {
			t.Error("the guest's forged deactivation went through")
		}
	})
}

// TestCSRF: a POST without the session's token, with another session's
// token, or from another site is refused and changes nothing.
func TestCSRF(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		victim := e.user(t, "user")
		admin := e.signIn(t, "admin")
		other := e.signIn(t, "admin")
		form := url.Values{"action": {"deactivate"}, "id": {fmt.Sprint(victim.ID)}}

		wantStatus(t, admin.post(t, "/console/users/bulk/apply", form), http.StatusForbidden)
		withOther := url.Values{"action": form["action"], "id": form["id"], console.CSRFField: {other.csrf}}
		r := admin.post(t, "/console/users/bulk/apply", withOther)
		wantStatus(t, r, http.StatusForbidden)
		wantContains(t, r, "security token")

		form.Set(console.CSRFField, admin.csrf)
		req, _ := http.NewRequest(http.MethodPost, admin.base+"/console/users/bulk/apply", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		r = admin.do(t, req)
		wantStatus(t, r, http.StatusForbidden)
		wantContains(t, r, "came from another site")
		req, _ = http.NewRequest(http.MethodPost, admin.base+"/console/users/bulk/apply", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		wantStatus(t, admin.do(t, req), http.StatusForbidden)
		if !e.stored(t, victim.ID).IsActive {
			t.Fatal("a refused request deactivated the user")
		}

		// The header htmx sends is accepted like the field.
		req, _ = http.NewRequest(http.MethodPost, admin.base+"/console/users/bulk/apply", strings.NewReader(url.Values{"action": {"deactivate"}, "id": form["id"]}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(console.CSRFHeader, admin.csrf)
		wantStatus(t, admin.do(t, req), http.StatusOK)
		if e.stored(t, victim.ID).IsActive {
			t.Fatal("got the user active, want deactivated")
		}
	})
}

// TestCookieAndBearerStayApart: the JSON API ignores the console's cookie,
// and the console ignores a bearer token.
func TestCookieAndBearerStayApart(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		// Sign in through the whole handler, as in production.
		p := &person{User: admin.User, client: e.browser(e.api.URL), base: e.api.URL}
		wantStatus(t, p.post(t, "/console/login", url.Values{"username": {admin.Username}, "password": {password}}), http.StatusSeeOther)
		wantStatus(t, p.get(t, "/console/users"), http.StatusOK)
		r := p.get(t, "/v1/me")
		wantStatus(t, r, http.StatusUnauthorized)

		req, _ := http.NewRequest(http.MethodPost, e.api.URL+"/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, admin.Username, password)))
		req.Header.Set("Content-Type", "application/json")
		bearer := &person{client: e.browser(e.api.URL), base: e.api.URL}
		r = bearer.do(t, req)
		wantStatus(t, r, http.StatusOK)
		access := between(r.body, `"access":"`, `"`)
		req, _ = http.NewRequest(http.MethodGet, e.api.URL+"/console/users", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		r = bearer.do(t, req)
		wantStatus(t, r, http.StatusSeeOther)
		if !strings.HasPrefix(r.Header.Get("Location"), "/console/login") {
			t.Errorf("got Location %q, want the login form", r.Header.Get("Location"))
		}
	})
}

func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestSessionTimeouts: a session ends after 30 minutes unused and 12 hours
// after sign-in however busy, and at sign-out.
func TestSessionTimeouts(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		idle := e.signIn(t, "admin")
		e.clock.Advance(29 * time.Minute)
		wantStatus(t, idle.get(t, "/console/"), http.StatusOK)
		e.clock.Advance(29 * time.Minute) // 29 minutes after the last use
		wantStatus(t, idle.get(t, "/console/"), http.StatusOK)
		e.clock.Advance(30*time.Minute + time.Second)
		wantStatus(t, idle.get(t, "/console/"), http.StatusSeeOther)

		busy := e.signIn(t, "staff")
		for range 12*3 - 1 {
			e.clock.Advance(20 * time.Minute)
			if r := busy.get(t, "/console/users"); r.StatusCode != http.StatusOK {
				t.Fatalf("got %d before 12 hours, want 200", r.StatusCode)
			}
		}
		e.clock.Advance(20 * time.Minute) // 12 h since sign-in
		wantStatus(t, busy.get(t, "/console/users"), http.StatusSeeOther)

		out := e.signIn(t, "admin")
		cookie := out.client.Jar.Cookies(mustURL(out.base))
		wantStatus(t, out.postCSRF(t, "/console/logout", nil), http.StatusSeeOther)
		replay := &person{client: e.browser(out.base), base: out.base}
		replay.client.Jar.SetCookies(mustURL(out.base), cookie)
		wantStatus(t, replay.get(t, "/console/"), http.StatusSeeOther)
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestConsoleHeaders: every console response, error pages included, has
// the console's CSP and framing headers, and an error page holds no
// internal detail.
func TestConsoleHeaders(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		for _, path := range []string{"/console/", "/console/users", "/console/nope", "/console/users/abc", "/console/login"} {
			r := admin.get(t, path)
			h := r.Header
			for k, want := range map[string]string{
				"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-store",
				"Content-Type":            "text/html; charset=utf-8",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: got %s %q, want %q", path, k, got, want)
				}
			}
			if strings.Contains(r.body, "goroutine") || strings.Contains(r.body, ".go:") || strings.Contains(r.body, "<style") || strings.Contains(r.body, " style=") {
				t.Errorf("%s: the page holds a stack, inline style or internal detail", path)
			}
		}
		r := admin.get(t, "/console/nope")
		wantStatus(t, r, http.StatusNotFound)
		wantContains(t, r, "There is no such page or record.", `href="/console/users"`)
		css := cssHref.FindStringSubmatch(admin.get(t, "/console/").body)
		if css == nil {
			t.Fatal("no stylesheet link")
		}
		r = admin.get(t, css[1])
		wantStatus(t, r, http.StatusOK)
		if got := r.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("got asset Cache-Control %q", got)
		}
	})
}

var cssHref = regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`)

// TestSignInReplacesTheSession: signing in again in the same browser ends
// the session its old cookie named.
func TestSignInReplacesTheSession(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		p := e.signIn(t, "staff")
		old := p.client.Jar.Cookies(mustURL(p.base))
		r := p.post(t, "/console/login", url.Values{"username": {p.Username}, "password": {password}})
		wantStatus(t, r, http.StatusSeeOther)
		wantStatus(t, p.get(t, "/console/"), http.StatusOK)
		replay := &person{client: e.browser(p.base), base: p.base}
		replay.client.Jar.SetCookies(mustURL(p.base), old)
		wantStatus(t, replay.get(t, "/console/"), http.StatusSeeOther)
	})
}
