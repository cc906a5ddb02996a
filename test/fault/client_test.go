//go:build fault

package fault_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// password is every test account's password.
const password = "a long fault-test password"

// client talks to one server over a shared pool of keep-alive connections.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string) *client {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// reply is one response, read whole, or the transport error instead.
type reply struct {
	status int
	body   []byte
	err    error
}

func (c *client) do(method, path, token string, body any) reply {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return reply{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: b, err: err}
}

func (r reply) decode(v any) bool {
	return r.err == nil && json.Unmarshal(r.body, v) == nil
}

// code is the error code of an error reply.
func (r reply) code() string {
	var e struct{ Code string }
	r.decode(&e)
	return e.Code
}

func (r reply) String() string {
	if r.err != nil {
		return "error " + r.err.Error()
	}
	b := r.body
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// account is a test user and the tokens of its current session.
type account struct {
	id              int64
	username, role  string
	access, refresh string
}

type tokenPair struct{ Access, Refresh string }

type userJSON struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Role      string `json:"role"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// login starts a new session for a.
func (c *client) login(t *testing.T, a *account) {
	t.Helper()
	r := c.do(http.MethodPost, "/login/", "", map[string]string{"username": a.username, "password": password})
	var p tokenPair
	if r.status != http.StatusOK || !r.decode(&p) || p.Access == "" || p.Refresh == "" {
		t.Fatalf("login %s: got %v, want 200 with tokens", a.username, r)
	}
	a.access, a.refresh = p.Access, p.Refresh
}

// createAccount makes a user through the API as admin and logs it in.
func (c *client) createAccount(t *testing.T, admin *account, username, role string) *account {
	t.Helper()
	r := c.do(http.MethodPost, "/v1/users", admin.access, map[string]string{
		"username": username, "email": username + "@example.com", "password": password, "role": role,
	})
	var out struct{ User userJSON }
	if r.status != http.StatusCreated || !r.decode(&out) || out.User.ID == 0 {
		t.Fatalf("create %s: got %v, want 201", username, r)
	}
	a := &account{id: out.User.ID, username: username, role: role}
	c.login(t, a)
	return a
}

// firstAdmin creates the first administrator with the CLI, as the README
// says, and logs it in.
func firstAdmin(t *testing.T, c *client, env map[string]string) *account {
	t.Helper()
	command(t, env, password+"\n", "users", "create", "--username", "admin0", "--email", "admin0@example.com", "--role", "admin", "--password-stdin")
	a := &account{username: "admin0", role: "admin"}
	c.login(t, a)
	var me userJSON
	if r := c.do(http.MethodGet, "/me/", a.access, nil); r.status != http.StatusOK || !r.decode(&me) {
		t.Fatalf("GET /me/ as admin0: got %v", r)
	}
	a.id = me.ID
	return a
}

// population is the accounts a workload runs as.
type population struct {
	admins, staff, users []*account
}

// populate creates the admin and nAdmins-1 more, nStaff staff and nUsers
// users, each logged in.
func populate(t *testing.T, c *client, env map[string]string, nAdmins, nStaff, nUsers int) population {
	t.Helper()
	var p population
	p.admins = append(p.admins, firstAdmin(t, c, env))
	for i := 1; i < nAdmins; i++ {
		p.admins = append(p.admins, c.createAccount(t, p.admins[0], fmt.Sprintf("admin%d", i), "admin"))
	}
	for i := range nStaff {
		p.staff = append(p.staff, c.createAccount(t, p.admins[0], fmt.Sprintf("staff%d", i), "staff"))
	}
	for i := range nUsers {
		p.users = append(p.users, c.createAccount(t, p.admins[0], fmt.Sprintf("user%d", i), "user"))
	}
	return p
}

// all lists every account, admins first.
func (p population) all() []*account {
	return append(append(append([]*account{}, p.admins...), p.staff...), p.users...)
}
