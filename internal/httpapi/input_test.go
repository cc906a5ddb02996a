package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestMalformedBodies checks that bodies that are not one JSON object get
// 400 at every endpoint that reads one, and change nothing.
func TestMalformedBodies(t *testing.T) {
	bodies := map[string]string{
		"truncated":        `{"first_name": "a"`,
		"missing value":    `{"first_name": }`,
		"single quotes":    `{'first_name': 'a'}`,
		"array":            `[{"first_name": "a"}]`,
		"string":           `"first_name"`,
		"number":           `5`,
		"null":             `null`,
		"trailing garbage": `{"first_name": "a"} x`,
		"two objects":      `{"first_name": "a"}{"role": "admin"}`,
		"invalid UTF-8":    "{\"first_name\": \"\xff\xfe\"}",
		"deep nesting":     `{"first_name": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	}
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		admin := e.adminToken(t)
		endpoints := []struct{ method, path, token string }{
			{http.MethodPost, "/signup/", ""},
			{http.MethodPost, "/v1/auth/login", ""},
			{http.MethodPost, "/token/refresh/", ""},
			{http.MethodPost, "/v1/auth/logout", ""},
			{http.MethodPut, "/me/", u.Access},
			{http.MethodPatch, "/v1/me", u.Access},
			{http.MethodPost, "/v1/me/password", u.Access},
			{http.MethodPost, "/v1/users", admin},
			{http.MethodPatch, fmt.Sprintf("/admin/users/%d/", u.ID), admin},
			{http.MethodPost, fmt.Sprintf("/v1/users/%d/password", u.ID), admin},
		}
		before := e.stored(t, u.ID)
		for name, body := range bodies {
			for _, ep := range endpoints {
				r := e.do(t, ep.method, ep.path, ep.token, body)
				if r.Status != http.StatusBadRequest {
					t.Errorf("%s with %s body: got status %d, want 400; body %s", r.What, name, r.Status, r.Body)
				}
			}
		}
		e.wantUnchanged(t, before)
	})
}

// TestFieldErrors checks that invalid values get 400 {"field": [...]}
// naming each bad field, and create or change nothing.
func TestFieldErrors(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		t.Run("signup", func(t *testing.T) {
			cases := []struct {
				field string
				in    func(name string) obj
			}{
				{"username", func(string) obj { return obj{"password": newPassword()} }},
				{"username", func(name string) obj { return obj{"username": name + " x!", "password": newPassword()} }},
				{"username", func(name string) obj {
					return obj{"username": name + strings.Repeat("a", 150), "password": newPassword()}
				}},
				{"username", func(string) obj { return obj{"username": "   ", "password": newPassword()} }},
				{"password", func(name string) obj { return obj{"username": name} }},
				{"password", func(name string) obj { return obj{"username": name, "password": ""} }},
				{"password", func(name string) obj { return obj{"username": name, "password": "Zq7!xw"} }},
				{"password", func(name string) obj { return obj{"username": name + "-long-name", "password": name + "-long-name"} }},
				{"password", func(name string) obj { return obj{"username": name, "password": "123qweasdzxc"} }},
				{"password", func(name string) obj { return obj{"username": name, "password": strings.Repeat("x7", 65)} }},
				{"email", func(name string) obj {
					return obj{"username": name, "password": newPassword(), "email": "not-an-email"}
				}},
				{"email", func(name string) obj {
					return obj{"username": name, "password": newPassword(), "email": "Someone <a@example.com>"}
				}},
				{"email", func(name string) obj { return obj{"username": name, "password": newPassword(), "email": 5} }},
				{"email", func(name string) obj { return obj{"username": name, "password": newPassword(), "email": nil} }},
				{"username", func(string) obj { return obj{"username": []string{"a"}, "password": newPassword()} }},
				{"favourite_colour", func(name string) obj {
					return obj{"username": name, "password": newPassword(), "favourite_colour": "blue"}
				}},
			}
			for _, rs := range routeSets {
				for _, c := range cases {
					name := unique("field")
					in := c.in(name)
					r := e.do(t, http.MethodPost, rs.signup, "", in)
					wantFieldError(t, r, c.field)
					e.wantNoUsername(t, name)
				}
			}
		})
		t.Run("profile", func(t *testing.T) {
			u := e.newUser(t, roleUser)
			cases := []struct {
				body  obj
				field string
			}{
				{obj{"email": 5}, "email"},
				{obj{"email": true}, "email"},
				{obj{"email": nil}, "email"},
				{obj{"email": "nobody@"}, "email"},
				{obj{"first_name": nil}, "first_name"},
				{obj{"first_name": []string{"x"}}, "first_name"},
				{obj{"first_name": "tab\tbed"}, "first_name"},
				{obj{"last_name": strings.Repeat("n", 151)}, "last_name"},
				{obj{"username": "has space"}, "username"},
				{obj{"username": ""}, "username"},
				{obj{"role": nil}, "role"},
				{obj{"role": 1}, "role"},
				{obj{"is_active": "false"}, "is_active"},
				{obj{"is_active": nil}, "is_active"},
				{obj{"password": newPassword()}, "password"},
				{obj{"password_hash": "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5"}, "password_hash"},
				{obj{"token_epoch": 0}, "token_epoch"},
			}
			for _, path := range []string{"/me/", "/v1/me"} {
				for _, c := range cases {
					before := e.stored(t, u.ID)
					wantFieldError(t, e.do(t, http.MethodPatch, path, u.Access, c.body), c.field)
					e.wantUnchanged(t, before)
				}
			}
		})
	})
}

// TestDuplicateUsername checks that usernames are unique whatever their
// case, through signup, an admin's create and a rename.
func TestDuplicateUsername(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		name := unique("Alice")
		r := e.do(t, http.MethodPost, "/signup/", "", obj{"username": name, "password": newPassword()})
		wantStatus(t, r, http.StatusCreated)
		first, err := e.srv.Store.UserByUsername(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		admin := e.adminToken(t)
		lower, upper := strings.ToLower(name), strings.ToUpper(name)
		attempts := []struct{ path, token, username string }{
			{"/signup/", "", name},
			{"/v1/auth/signup", "", lower},
			{"/v1/users", admin, upper},
			{"/admin/users/", admin, lower},
		}
		for _, a := range attempts {
			wantFieldError(t, e.do(t, http.MethodPost, a.path, a.token, obj{"username": a.username, "password": newPassword()}), "username")
		}
		other := e.newUser(t, roleUser)
		before := e.stored(t, other.ID)
		wantFieldError(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", other.ID), admin, obj{"username": lower}), "username")
		wantFieldError(t, e.do(t, http.MethodPut, fmt.Sprintf("/admin/users/%d/", other.ID), admin, obj{"username": upper}), "username")
		e.wantUnchanged(t, before)
		e.wantUnchanged(t, first)

		r = e.do(t, http.MethodGet, "/v1/users?limit=200&search="+lower, admin, nil)
		wantStatus(t, r, http.StatusOK)
		var page struct{ Results []map[string]any }
		r.decode(t, &page)
		if len(page.Results) != 1 || page.Results[0]["username"] != name {
			t.Errorf("%s: got %s, want only %q", r.What, r.Body, name)
		}
	})
}

// TestBadIDs checks that an id that is not a canonical positive integer,
// or that no user has, is a 404 on every method.
func TestBadIDs(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		u := e.storedUser(t, roleUser)
		before := e.stored(t, u.ID)
		ids := []string{"abc", "0", "-1", "007", "0" + strconv.FormatInt(u.ID, 10), "+" + strconv.FormatInt(u.ID, 10),
			"1e3", "1.0", "99999999999999999999", "%20" + strconv.FormatInt(u.ID, 10), strconv.FormatInt(1<<40, 10)}
		for _, id := range ids {
			for _, path := range []string{"/v1/users/" + id, "/admin/users/" + id + "/"} {
				for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete} {
					var body any
					if method == http.MethodPut || method == http.MethodPatch {
						body = obj{"first_name": "Nobody"}
					}
					r := e.do(t, method, path, admin, body)
					wantStatus(t, r, http.StatusNotFound)
					wantBody(t, r, obj{"detail": "Not found.", "code": "not_found"})
				}
			}
			r := e.do(t, http.MethodPost, "/v1/users/"+id+"/password", admin, obj{"new_password": newPassword()})
			wantStatus(t, r, http.StatusNotFound)
		}
		e.wantUnchanged(t, before)
	})
}

// TestBodyLimits checks that bodies over 1 MiB get 413, whether or not
// their length is declared, and that only JSON is read.
func TestBodyLimits(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		before := e.stored(t, u.ID)
		big := `{"first_name": "` + strings.Repeat("a", 1<<20) + `"}`
		for _, declared := range []bool{true, false} {
			for _, ep := range []struct{ method, path, token string }{
				{http.MethodPost, "/signup/", ""},
				{http.MethodPatch, "/v1/me", u.Access},
			} {
				req, err := e.newRequest(ep.method, ep.path, ep.token, big)
				if err != nil {
					t.Fatal(err)
				}
				if !declared {
					req.Body = io.NopCloser(strings.NewReader(big))
					req.ContentLength = -1 // sent chunked
				}
				r := e.send(t, req, nil)
				wantStatus(t, r, http.StatusRequestEntityTooLarge)
			}
		}
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/jsonp"} {
			req, err := e.newRequest(http.MethodPatch, "/v1/me", u.Access, `{"first_name": "Plain"}`)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			if ct == "" {
				req.Header.Del("Content-Type")
			}
			wantStatus(t, e.send(t, req, nil), http.StatusUnsupportedMediaType)
		}
		req, err := e.newRequest(http.MethodPost, "/login/", "", "username="+u.Username+"&password="+u.Password)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, e.send(t, req, nil), http.StatusUnsupportedMediaType)
		e.wantUnchanged(t, before)

		// A JSON media type with parameters, or a +json one, is JSON.
		for _, ct := range []string{"application/json; charset=utf-8", "application/merge-patch+json"} {
			req, err := e.newRequest(http.MethodPatch, "/v1/me", u.Access, `{"first_name": "Typed"}`)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			wantStatus(t, e.send(t, req, nil), http.StatusOK)
		}
	})
}

// TestListParameters checks the list's query parameters: a bad limit,
// flag or cursor is a 400, and a limit over 200 is capped.
func TestListParameters(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		for param, values := range map[string][]string{
			"limit":     {"abc", "0", "-5", "1.5", "2x", "99999999999999999999"},
			"is_active": {"maybe", "yes"},
			"cursor":    {"!!", "MA", "LTE", "abc"},
		} {
			for _, v := range values {
				wantFieldError(t, e.do(t, http.MethodGet, "/v1/users?"+param+"="+v, admin, nil), param)
			}
		}
		wantFieldError(t, e.do(t, http.MethodGet, "/v1/users?search="+strings.Repeat("s", 255), admin, nil), "search")

		token := unique("capped")
		for range 201 {
			name := unique(token + "x")
			if _, err := e.srv.Store.CreateUser(t.Context(), testUser(name)); err != nil {
				t.Fatal(err)
			}
		}
		r := e.do(t, http.MethodGet, "/v1/users?limit=500&search="+token, admin, nil)
		page := wantPage(t, r)
		if len(page.Results) != 200 || page.Next == nil || !strings.Contains(*page.Next, "limit=200") {
			t.Fatalf("%s: got %d results and next %v, want 200 and a next page of limit 200", r.What, len(page.Results), page.Next)
		}
		last := wantPage(t, e.do(t, http.MethodGet, pathOf(t, *page.Next), admin, nil))
		if len(last.Results) != 1 || last.Next != nil {
			t.Errorf("second page: got %d results and next %v, want 1 and none", len(last.Results), last.Next)
		}
		if n := len(wantPage(t, e.do(t, http.MethodGet, "/v1/users?search="+token, admin, nil)).Results); n != 50 {
			t.Errorf("default page: got %d results, want 50", n)
		}
	})
}

// TestUnknownRoutesAndMethods checks that unknown paths are 404 and wrong
// methods 405, both in JSON.
func TestUnknownRoutesAndMethods(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		for _, path := range []string{"/", "/nope", "/v1", "/v2/users", "/admin/users/1/extra", "/v1/users/1/password/x", "/admin-area/x", "/.well-known/other"} {
			for _, token := range []string{"", admin} {
				r := e.do(t, http.MethodGet, path, token, nil)
				wantStatus(t, r, http.StatusNotFound)
				wantBody(t, r, obj{"detail": "Not found.", "code": "not_found"})
			}
		}
		for _, c := range []struct{ method, path string }{
			{http.MethodGet, "/login/"},
			{http.MethodDelete, "/v1/auth/login"},
			{http.MethodGet, "/signup/"},
			{http.MethodPut, "/v1/users"},
			{http.MethodDelete, "/admin/users/"},
			{http.MethodDelete, "/v1/me"},
			{http.MethodPost, "/admin-area/"},
			{http.MethodGet, "/v1/me/password"},
			{http.MethodPost, "/healthz"},
		} {
			r := e.do(t, c.method, c.path, admin, nil)
			wantStatus(t, r, http.StatusMethodNotAllowed)
			if got := r.object(t)["code"]; got != "method_not_allowed" {
				t.Errorf("%s: got code %v, want method_not_allowed", r.What, got)
			}
		}
	})
}

// TestAuthorizationHeader checks that a header that cannot hold a usable
// token is a 401, and one over 8 KiB is refused before parsing.
func TestAuthorizationHeader(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		headers := map[string]string{
			"over 8 KiB":   "Bearer " + u.Access + strings.Repeat("a", 8<<10),
			"no token":     "Bearer ",
			"two tokens":   "Bearer " + u.Access + " " + u.Access,
			"basic":        "Basic dXNlcjpwYXNz",
			"token scheme": "Token " + u.Access,
		}
		for name, h := range headers {
			for _, ep := range []struct{ method, path string }{{http.MethodGet, "/v1/me"}, {http.MethodGet, "/user-area/"}} {
				req, err := e.newRequest(ep.method, ep.path, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", h)
				r := e.send(t, req, nil)
				if r.Status != http.StatusUnauthorized {
					t.Errorf("%s with %s header: got status %d, want 401; body %s", r.What, name, r.Status, r.Body)
				}
			}
		}
		// A valid token is accepted in a header of up to 8 KiB, and refused
		// in a longer one.
		under, over := e.paddedTokens(t, u, 8<<10)
		wantStatus(t, e.do(t, http.MethodGet, "/v1/me", under, nil), http.StatusOK)
		r := e.do(t, http.MethodGet, "/v1/me", over, nil)
		wantStatus(t, r, http.StatusUnauthorized)
		if got := r.object(t)["code"]; got != "bad_authorization_header" {
			t.Errorf("%s with a header over 8 KiB: got code %v, want bad_authorization_header", r.What, got)
		}

		// Signup takes anonymous callers, but not a bad header.
		name := unique("header")
		req, err := e.newRequest(http.MethodPost, "/signup/", "", obj{"username": name, "password": newPassword()})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", headers["over 8 KiB"])
		wantStatus(t, e.send(t, req, nil), http.StatusUnauthorized)
		e.wantNoUsername(t, name)
	})
}

// paddedTokens returns two valid access tokens for u, padded with an extra
// claim so that the Authorization header carrying the first is at most
// limit bytes long and the one carrying the second is longer.
func (e *env) paddedTokens(t *testing.T, u *user, limit int) (under, over string) {
	t.Helper()
	header := func(tok string) int { return len("Bearer ") + len(tok) }
	c := e.claims(t, u, "access")
	c["pad"] = ""
	pad := (limit - header(e.sign(t, c, nil))) * 3 / 4
	for range 64 {
		c["pad"] = strings.Repeat("p", pad)
		tok := e.sign(t, c, nil)
		if header(tok) > limit {
			if under == "" {
				t.Fatalf("padding: got a header of %d bytes, want to start at most %d", header(tok), limit)
			}
			return under, tok
		}
		under = tok
		pad++
	}
	t.Fatalf("padding: got no header over %d bytes, want one", limit)
	return "", ""
}

// TestOverlongPasswordsAreRefused checks that a password over 128
// characters is a 400 naming the field at login, signup and password
// change: it is refused before any hash runs (a login that hashed it would
// answer 401), so huge passwords cannot be used to burn CPU.
func TestOverlongPasswordsAreRefused(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		long := strings.Repeat("é", 129)
		wantFieldError(t, e.do(t, http.MethodPost, "/login/", "", obj{"username": u.Username, "password": long}), "password")
		wantFieldError(t, e.do(t, http.MethodPost, "/signup/", "", obj{"username": unique("long"), "password": long}), "password")
		wantFieldError(t, e.do(t, http.MethodPost, "/v1/me/password", u.Access, obj{"old_password": u.Password, "new_password": long}), "new_password")
		wantStatus(t, e.do(t, http.MethodPost, "/login/", "", obj{"username": u.Username, "password": u.Password}), http.StatusOK)
	})
}
