package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// cyrillicA is a Cyrillic "а", which looks like a Latin "a".
const cyrillicA = "\u0430"

// wantFieldMessage checks for a 400 whose body gives field exactly the
// messages want.
func wantFieldMessage(t *testing.T, r *response, field string, want ...string) {
	t.Helper()
	wantStatus(t, r, http.StatusBadRequest)
	var body map[string][]string
	r.decode(t, &body)
	if strings.Join(body[field], "|") != strings.Join(want, "|") {
		t.Fatalf("%s: got %s, want %q: %q", r.What, r.Body, field, want)
	}
}

// searchCount is how many users the list search for text finds.
func (e *env) searchCount(t *testing.T, admin, text string) int {
	t.Helper()
	var p struct{ Results []map[string]any }
	r := e.do(t, http.MethodGet, "/v1/users?limit=200&search="+url.QueryEscape(text), admin, nil)
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &p)
	return len(p.Results)
}

// TestLookalikeUsernames checks that a username that only looks like a
// taken one (a Cyrillic "а" for "a") is refused through signup, an admin's
// create and an admin's rename (renaming oneself is not granted by the
// shipped policy), with nothing stored; and that logins find the one
// account such a spelling can mean.
func TestLookalikeUsernames(t *testing.T) {
	const lookalike = "A user with a username that looks the same already exists."
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		name := unique("admin")
		pw := newPassword()
		wantStatus(t, e.do(t, http.MethodPost, "/signup/", "", obj{"username": name, "password": pw}), http.StatusCreated)
		spoof := strings.Replace(name, "a", cyrillicA, 1)
		for _, a := range []struct{ path, token string }{{"/signup/", ""}, {"/v1/auth/signup", ""}, {"/v1/users", admin}} {
			wantFieldMessage(t, e.do(t, http.MethodPost, a.path, a.token, obj{"username": spoof, "password": newPassword()}), "username", lookalike)
		}
		other := e.newUser(t, roleUser)
		before := e.stored(t, other.ID)
		wantStatus(t, e.do(t, http.MethodPatch, "/v1/me", other.Access, obj{"username": spoof}), http.StatusForbidden)
		wantFieldMessage(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", other.ID), admin, obj{"username": spoof}), "username", lookalike)
		e.wantUnchanged(t, before)
		if n := e.searchCount(t, admin, spoof); n != 0 {
			t.Errorf("search for %q: got %d users, want none stored", spoof, n)
		}

		// The lookalike spelling logs in to the one account it can mean.
		owner, err := e.srv.Store.UserByUsername(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		r := e.do(t, http.MethodPost, "/v1/auth/login", "", obj{"username": spoof, "password": pw})
		wantStatus(t, r, http.StatusOK)
		var pair struct{ Access string }
		r.decode(t, &pair)
		me := e.do(t, http.MethodGet, "/v1/me", pair.Access, nil)
		wantStatus(t, me, http.StatusOK)
		if got := me.object(t)["id"]; got != float64(owner.ID) {
			t.Errorf("login as %q: got user %v, want %d", spoof, got, owner.ID)
		}
	})
}

// TestBidiControlsInNames checks that U+202E, which shows the rest of a
// name reversed, is refused in a username and in first and last names at
// signup, and that nothing is stored.
func TestBidiControlsInNames(t *testing.T) {
	const hidden = "This field may not contain control or bidirectional-control characters."
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		name := unique("nimda")
		for field, body := range map[string]obj{
			"username":   {"username": name + "\u202e", "password": newPassword()},
			"first_name": {"username": name, "password": newPassword(), "first_name": "Ann\u202eeN"},
			"last_name":  {"username": name, "password": newPassword(), "last_name": "\u2067Smith"},
		} {
			wantFieldMessage(t, e.do(t, http.MethodPost, "/v1/auth/signup", "", body), field, hidden)
		}
		if n := e.searchCount(t, admin, name); n != 0 {
			t.Errorf("search for %q: got %d users, want none stored", name, n)
		}
	})
}

// TestConcurrentLookalikeSignups races two signups of names that look
// alike, 10 times on each database: exactly one of each pair is created.
func TestConcurrentLookalikeSignups(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		for round := range 10 {
			name := unique("pair")
			names := []string{name, strings.Replace(name, "a", cyrillicA, 1)}
			codes := make([]int, len(names))
			var start, done sync.WaitGroup
			start.Add(1)
			for i, n := range names {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					req, err := e.newRequest(http.MethodPost, "/v1/auth/signup", "", obj{"username": n, "password": newPassword()})
					if err == nil {
						var r *response
						if r, err = e.roundTrip(req); err == nil {
							codes[i] = r.Status
						}
					}
					if err != nil {
						t.Errorf("signup %q: %v", n, err)
					}
				}()
			}
			start.Done()
			done.Wait()
			created := 0
			for _, c := range codes {
				if c == http.StatusCreated {
					created++
				} else if c != http.StatusBadRequest {
					t.Errorf("round %d: got status %d, want 201 or 400", round, c)
				}
			}
			stored := e.searchCount(t, admin, names[0]) + e.searchCount(t, admin, names[1])
			if created != 1 || stored != 1 {
				t.Fatalf("round %d (%q, %q): got %d created and %d stored, want exactly 1", round, names[0], names[1], created, stored)
			}
		}
	})
}
