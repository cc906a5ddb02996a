package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// authGet is GET path with a bearer token; it returns the status.
func authGet(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// passwordResets reads the user.password_reset events of the database.
func passwordResets(t *testing.T, dbURL string) []models.AuditEvent {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.ListAuditEvents(context.Background(), models.AuditFilter{Action: models.AuditUserPasswordReset, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestUsersSetPassword follows Django's changepassword: the new password
// works, the old one and every session of the user end, and the reset is
// audited as an administrator's is, while a server runs on the database.
func TestUsersSetPassword(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, map[string]string{"USER": "ops-alice"})
			if out, err := runCmd(t, getenv, "correct horse battery staple\n",
				"users", "create", "--username", "Mallory", "--role", "user", "--password-stdin"); err != nil {
				t.Fatal(out, err)
			}
			base := startServer(t, getenv)
			_, tokens := postJSON(t, base+"/login/", map[string]string{"username": "mallory", "password": "correct horse battery staple"})
			access, _ := tokens["access"].(string)
			if access == "" {
				t.Fatalf("login: got %v, want tokens", tokens)
			}

			// Refused: too short. Nothing changes and nothing is audited.
			out, err := runCmd(t, getenv, "short\n", "users", "set-password", "mallory", "--password-stdin")
			if exitCode(err) != 1 || !strings.Contains(err.Error(), "too short") {
				t.Errorf("short password: got %q, %v; want exit 1, too short", out, err)
			}
			if status := authGet(t, base+"/me/", access); status != http.StatusOK {
				t.Errorf("after a refused reset: /me/ got %d, want 200 (the session stands)", status)
			}

			out, err = runCmd(t, getenv, "a brand new passphrase\n", "users", "set-password", "MALLORY", "--password-stdin")
			if err != nil || !strings.Contains(out, "(Mallory); every session of the user has ended") {
				t.Fatalf("set-password: got %q, %v", out, err)
			}
			if resp, _ := postJSON(t, base+"/login/", map[string]string{"username": "mallory", "password": "correct horse battery staple"}); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("old password: got %d, want 401", resp.StatusCode)
			}
			if resp, _ := postJSON(t, base+"/login/", map[string]string{"username": "mallory", "password": "a brand new passphrase"}); resp.StatusCode != http.StatusOK {
				t.Errorf("new password: got %d, want 200", resp.StatusCode)
			}
			if resp, _ := postJSON(t, base+"/token/refresh/", map[string]string{"refresh": tokens["refresh"].(string)}); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("refresh token from before: got %d, want 401", resp.StatusCode)
			}
			// The server learns of the change from the database; allow it
			// a moment, as another replica would need.
			deadline := time.Now().Add(5 * time.Second)
			for authGet(t, base+"/me/", access) != http.StatusUnauthorized {
				if time.Now().After(deadline) {
					t.Fatal("access token from before the reset still works 5s later")
				}
				time.Sleep(20 * time.Millisecond)
			}

			events := passwordResets(t, target.URL)
			if len(events) != 1 {
				t.Fatalf("audit: got %d password resets, want 1: %+v", len(events), events)
			}
			e := events[0]
			if e.ActorRole != OperatorRole || e.ActorID != 0 || !strings.HasPrefix(e.Target, "users/") || e.Result != models.AuditSuccess ||
				e.Detail["via"] != "rolegate users set-password" || e.Detail["os_user"] != "ops-alice" {
				t.Errorf("audit event: got %+v, want the operator's reset of mallory", e)
			}
		})
	}
}

func TestUsersSetPasswordMistakes(t *testing.T) {
	getenv := testEnv(t, dbtest.Targets(t)[0].URL, nil)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"users", "set-password", "nobody", "--password-stdin"}, 1, `no user is named "nobody"`},
		{[]string{"users", "set-password", "nobody"}, 2, "users set-password needs --password-stdin"},
		{[]string{"users", "set-password", "--password-stdin"}, 2, "rolegate users set-password needs USERNAME"},
	} {
		_, err := runCmd(t, getenv, "a brand new passphrase\n", tc.args...)
		if exitCode(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want exit %d and %q", tc.args, err, tc.code, tc.want)
		}
	}
}
