package httpapi_test

import (
	"net/http"
	"testing"
)

// TestNULInLookupsIsNotAnOutage: PostgreSQL refuses a NUL byte in any
// text it is sent, and answered such a login or list filter with an error
// that became a 503 (and an ERROR log line, for any anonymous caller, with
// the failed login not counted against the throttle). No stored name,
// email or role holds a NUL, so such a value finds nothing, on every
// database: a login is the usual 401, counted; a list is empty.
func TestNULInLookupsIsNotAnOutage(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = freshEnv(t, e, shippedPolicy)
		u := e.storedUser(t, roleUser)
		admin := *e.admin
		e.login(t, &admin)
		for _, name := range []string{"a\x00b", u.Username + "\x00", "\x00"} {
			wantBadCredentials(t, e.do(t, http.MethodPost, "/v1/auth/login", "", obj{"username": name, "password": u.Password}))
		}
		for _, q := range []string{"search=a%00b", "search=%00", "role=user%00", "role=%00&search=x"} {
			r := e.do(t, http.MethodGet, "/v1/users?"+q, admin.Access, nil)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, obj{"results": []any{}, "next": nil})
		}
	})
}
