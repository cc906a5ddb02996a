package httpapi_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
)

// TestHeadAnswersLikeGet: HEAD on a GET route (load balancers probe
// /readyz and /healthz with it) gets GET's status and headers, and no
// body. The paths cover public routes, the documentation, an allowed and a
// denied authenticated read, and a refused anonymous one.
func TestHeadAnswersLikeGet(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		staff := e.newUser(t, roleStaff)
		cases := []struct {
			path, token string
			status      int
		}{
			{"/healthz", "", http.StatusOK},
			{"/readyz", "", http.StatusOK},
			{"/.well-known/jwks.json", "", http.StatusOK},
			{"/openapi.json", "", http.StatusOK},
			{"/docs", "", http.StatusOK},
			{"/docs/assets/redoc.standalone.js", "", http.StatusOK},
			{"/docs/assets/nope.js", "", http.StatusNotFound},
			{"/v1/me", staff.Access, http.StatusOK},
			{"/me/", staff.Access, http.StatusOK},
			{"/v1/users?limit=2", staff.Access, http.StatusOK},
			{"/admin-area/", staff.Access, http.StatusForbidden},
			{"/v1/audit", "", http.StatusUnauthorized},
		}
		for _, c := range cases {
			get := e.exchange(t, http.MethodGet, c.path, c.token)
			head := e.exchange(t, http.MethodHead, c.path, c.token)
			if get.Status != c.status || head.Status != c.status {
				t.Errorf("%s: got GET %d and HEAD %d, want %d for both", c.path, get.Status, head.Status, c.status)
				continue
			}
			if len(head.Body) != 0 {
				t.Errorf("HEAD %s: got a body of %d bytes, want none", c.path, len(head.Body))
			}
			if len(get.Body) == 0 {
				t.Errorf("GET %s: got no body, want one", c.path)
			}
			if got, want := head.Header.Get("Content-Length"), strconv.Itoa(len(get.Body)); got != want {
				t.Errorf("HEAD %s: got Content-Length %q, want GET's body length %s", c.path, got, want)
			}
			for _, name := range []string{"Content-Type", "Content-Length", "Cache-Control", "Content-Security-Policy", "X-Policy-Version", "WWW-Authenticate"} {
				if g, h := get.Header.Values(name), head.Header.Values(name); !slices.Equal(g, h) {
					t.Errorf("%s: got HEAD %s %q, want GET's %q", c.path, name, h, g)
				}
			}
		}
	})
}

// exchange sends one request and returns the answer without the checks
// every JSON response must pass, which a HEAD answer, having no body,
// cannot.
func (e *env) exchange(t *testing.T, method, path, token string) *response {
	t.Helper()
	req, err := e.newRequest(method, path, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.roundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
