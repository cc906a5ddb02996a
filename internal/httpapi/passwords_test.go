package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

const (
	breachedMessage = "This password has appeared in a data breach, so attackers try it first."
	similarMessage  = "This password is too similar to your username, email address or name."
	suggestMessage  = "Add another word or two; uncommon words are better."
)

// TestWeakPasswordsAtSignup checks issue 10's four passwords, which the
// 12-character minimum and the old top-10,000 list let through, and a
// password built from the account's own email: each is refused with why,
// and nothing is stored; a strong passphrase is accepted.
func TestWeakPasswordsAtSignup(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.adminToken(t)
		name := unique("wonder")
		email := name + "@liddell.example.com"
		for _, pw := range []string{"password1234", "123456789012", "1234567890123", "passwordpassword"} {
			r := e.do(t, http.MethodPost, "/signup/", "", obj{"username": name, "email": email, "password": pw})
			wantFieldMessage(t, r, "password", breachedMessage)
		}
		for _, pw := range []string{email, name + "-" + name} {
			r := e.do(t, http.MethodPost, "/v1/auth/signup", "", obj{"username": name, "email": email, "password": pw})
			wantFieldMessage(t, r, "password", similarMessage, suggestMessage)
		}
		r := e.do(t, http.MethodPost, "/v1/users", admin, obj{"username": name, "email": email, "password": "passwordpassword"})
		wantFieldMessage(t, r, "password", breachedMessage)
		if n := e.searchCount(t, admin, name); n != 0 {
			t.Fatalf("after the refused signups: got %d users named %q, want none", n, name)
		}
		passphrase := "violet kestrel over copper " + pwMarker
		wantStatus(t, e.do(t, http.MethodPost, "/signup/", "", obj{"username": name, "email": email, "password": passphrase}), http.StatusCreated)
		e.login(t, &user{Username: name, Password: passphrase})
	})
}

// TestWeakPasswordsOnChangeAndReset checks that a password change and an
// administrator's reset check the new password against the account whose
// password it becomes, and that a refused one changes nothing.
func TestWeakPasswordsOnChangeAndReset(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		before := e.stored(t, u.ID)
		r := e.do(t, http.MethodPost, "/v1/me/password", u.Access, obj{"old_password": u.Password, "new_password": u.Username + "-" + u.Username + "-" + u.Username})
		wantFieldMessage(t, r, "new_password", similarMessage, suggestMessage)
		r = e.do(t, http.MethodPost, "/v1/me/password", u.Access, obj{"old_password": u.Password, "new_password": "password1234"})
		wantFieldMessage(t, r, "new_password", breachedMessage)
		admin := e.adminToken(t)
		r = e.do(t, http.MethodPost, fmt.Sprintf("/v1/users/%d/password", u.ID), admin, obj{"new_password": u.Email})
		wantFieldMessage(t, r, "new_password", similarMessage, suggestMessage)
		r = e.do(t, http.MethodPost, fmt.Sprintf("/v1/users/%d/password", u.ID), admin, obj{"new_password": "1234567890123"})
		wantFieldMessage(t, r, "new_password", breachedMessage)
		e.wantUnchanged(t, before)
		e.login(t, u) // the old password still works
	})
}
