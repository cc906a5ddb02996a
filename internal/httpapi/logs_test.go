package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/syncbuf"
)

// serverLog is every shared server's log, at debug level, as JSON.
var serverLog syncbuf.Buffer

// accessLine finds the access-log line of the request with id.
func accessLine(t *testing.T, id string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(serverLog.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["request_id"] == id {
			return line
		}
	}
	t.Fatalf("no access-log line with request_id %q", id)
	return nil
}

func TestAccessLog(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		id := unique("access-log-")
		req, err := e.newRequest(http.MethodGet, fmt.Sprintf("/v1/users/%d?x=1", u.ID), u.Access, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-ID", id)
		r := e.send(t, req, nil)
		wantStatus(t, r, http.StatusOK)
		if got := r.Header.Get("X-Request-ID"); got != id {
			t.Errorf("X-Request-ID: got %q, want %q echoed", got, id)
		}
		line := accessLine(t, id)
		want := map[string]any{
			"level": "INFO", "method": "GET", "route": "/v1/users/:id", "path": fmt.Sprintf("/v1/users/%d", u.ID),
			"status": float64(200), "user_id": float64(u.ID), "client_ip": "127.0.0.1",
		}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("access log %s: got %v, want %v", k, line[k], v)
			}
		}
		if ms, ok := line["latency_ms"].(float64); !ok || ms < 0 || ms > 10000 {
			t.Errorf("access log latency_ms: got %v, want a number of milliseconds", line["latency_ms"])
		}

		// An insane id is replaced, and the new one is logged and echoed.
		req, _ = e.newRequest(http.MethodGet, "/nowhere", "", nil)
		req.Header.Set("X-Request-ID", `bad id {"forged":1} <b>`)
		r = e.send(t, req, nil)
		got := r.Header.Get("X-Request-ID")
		if got == "" || strings.ContainsAny(got, " {<") {
			t.Fatalf("X-Request-ID for a bad one: got %q, want a new safe id", got)
		}
		if line := accessLine(t, got); line["route"] != "unmatched" || line["status"] != float64(404) || line["user_id"] != float64(0) {
			t.Errorf("access log of a 404: got %v, want route unmatched, status 404, user_id 0", line)
		}
	})
}

// TestLogsHoldNoSecrets runs requests that carry every kind of secret,
// then searches the whole log for each one used.
func TestLogsHoldNoSecrets(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		var secrets []string
		keep := func(s ...string) { secrets = append(secrets, s...) }

		name := unique("leaky")
		pw := newPassword()
		keep(pw)
		r := e.do(t, http.MethodPost, "/v1/auth/signup", "", obj{"username": name, "password": pw})
		wantStatus(t, r, http.StatusCreated)
		var created struct{ User struct{ ID int64 } }
		r.decode(t, &created)
		u := &user{ID: created.User.ID, Username: name, Password: pw}
		keep(e.stored(t, u.ID).PasswordHash)

		wrong := newPassword()
		keep(wrong)
		wantStatus(t, e.do(t, http.MethodPost, "/login/", "", obj{"username": name, "password": wrong}), http.StatusUnauthorized)
		e.login(t, u)
		keep(u.Access, u.Refresh)
		spent := u.Refresh
		r = e.do(t, http.MethodPost, "/token/refresh/", "", obj{"refresh": spent})
		wantStatus(t, r, http.StatusOK)
		var pair struct{ Access, Refresh string }
		r.decode(t, &pair)
		keep(pair.Access, pair.Refresh)
		wantStatus(t, e.do(t, http.MethodPost, "/v1/auth/refresh", "", obj{"refresh": spent}), http.StatusUnauthorized) // reuse

		e.login(t, u)
		keep(u.Access, u.Refresh)
		changed := newPassword()
		keep(changed)
		r = e.do(t, http.MethodPost, "/v1/me/password", u.Access, obj{"old_password": pw, "new_password": changed})
		wantStatus(t, r, http.StatusOK)
		r.decode(t, &pair)
		keep(pair.Access, pair.Refresh, e.stored(t, u.ID).PasswordHash)
		wantStatus(t, e.do(t, http.MethodPost, "/v1/me/password", pair.Access, obj{"old_password": wrong, "new_password": newPassword()}), http.StatusBadRequest)

		admin := *e.admin
		e.login(t, &admin)
		keep(admin.Access, admin.Refresh, admin.Password, e.stored(t, admin.ID).PasswordHash)
		reset := newPassword()
		keep(reset)
		wantStatus(t, e.do(t, http.MethodPost, fmt.Sprintf("/v1/users/%d/password", u.ID), admin.Access, obj{"new_password": reset}), http.StatusOK)
		keep(e.stored(t, u.ID).PasswordHash)
		wantStatus(t, e.do(t, http.MethodPost, "/v1/users", admin.Access, obj{"username": unique("weak"), "password": "short" + pwMarker}), http.StatusBadRequest)

		// Broken bodies that carry passwords: cut short, unknown and
		// repeated keys, wrong types, trailing data.
		for _, body := range []string{
			`{"username": "%s", "password": "%s"`,
			`{"username": "%s", "password": "%s", "remember": true}`,
			`{"username": "%s", "password": "x", "password": "%s"}`,
			`{"username": ["%s"], "password": "%s"}`,
			`{"username": "%s", "password": "%s"} {"again": 1}`,
		} {
			p := newPassword()
			keep(p)
			r := e.do(t, http.MethodPost, "/v1/auth/login", "", fmt.Sprintf(body, name, p))
			wantStatus(t, r, http.StatusBadRequest)
			r = e.do(t, http.MethodPost, "/signup/", "", fmt.Sprintf(body, name, p))
			wantStatus(t, r, http.StatusBadRequest)
		}
		r = e.do(t, http.MethodPost, "/v1/auth/logout", "", `{"refresh": "`+pair.Refresh+`", "x": 1}`)
		wantStatus(t, r, http.StatusBadRequest)
		wantStatus(t, e.do(t, http.MethodGet, "/v1/me", pair.Access+"x", nil), http.StatusUnauthorized)
		wantStatus(t, e.do(t, http.MethodPost, "/v1/auth/logout", "", obj{"refresh": pair.Refresh}), http.StatusOK)

		log := serverLog.String()
		if !strings.Contains(log, `"path":"/v1/me/password"`) {
			t.Fatal("the log has no access line for /v1/me/password: is it captured?")
		}
		for _, s := range secrets {
			if s == "" {
				t.Fatal("a secret of the test is empty")
			}
			if strings.Contains(log, s) {
				t.Errorf("the log holds a secret: %.24q...", s)
			}
		}
		for _, marker := range []string{pwMarker, "$argon2id$", "argon2id$v="} {
			if strings.Contains(log, marker) {
				t.Errorf("the log holds %q", marker)
			}
		}
	})
}
