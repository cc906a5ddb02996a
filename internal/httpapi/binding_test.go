package httpapi_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/importer"
	"github.com/rolegate/rolegate/models"
)

// djangoHash is password as Django's default hasher stores it, with few
// iterations so that the test stays fast.
func djangoHash(t *testing.T, password string) string {
	t.Helper()
	salt := unique("salt")
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), 1000, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$1000$%s$%s", salt, base64.StdEncoding.EncodeToString(key))
}

// importOne imports one Django user with id and username, as "rolegate
// users import" does, and returns the summary and the user's password.
func (e *env) importOne(t *testing.T, id int64, username string) (importer.Summary, string) {
	t.Helper()
	password := newPassword()
	rows := []importer.Row{{Ref: fmt.Sprintf("row 1 (pk %d)", id), User: models.User{
		ID: id, Username: username, Email: username + "@example.com", IsActive: true, PasswordHash: djangoHash(t, password),
	}}}
	sum, err := importer.Import(t.Context(), e.srv.Store, rows, importer.Options{
		HasRole: e.srv.Policy.Current().HasRole, DefaultRole: roleUser, SuperuserRole: roleAdmin,
	})
	if err != nil || len(sum.Failures) != 0 || sum.Imported != 1 {
		t.Fatalf("import user %d: got %s, %+v (%v), want it imported", id, sum, sum.Failures, err)
	}
	return sum, password
}

// wantRevived checks that an import summary reports exactly id as brought
// back from a deleted user.
func wantRevived(t *testing.T, sum importer.Summary, id int64) {
	t.Helper()
	if len(sum.Revived) != 1 || sum.Revived[0].ID != id {
		t.Errorf("import summary: got revived %+v (%s), want id %d reported", sum.Revived, sum, id)
	}
}

// TestTokensStayWithTheirAccount is issue 10's item 6: a token issued to
// an account is refused once the account is deleted, even when an import
// creates a row with the same id again, as the same person or as another.
func TestTokensStayWithTheirAccount(t *testing.T) {
	for _, shared := range envs {
		t.Run(shared.name, func(t *testing.T) {
			t.Parallel()
			e := freshEnv(t, shared, shippedPolicy)
			const id = 50
			name := unique("imported")
			sum, password := e.importOne(t, id, name)
			if len(sum.Revived) != 0 {
				t.Errorf("first import: got revived %+v, want none", sum.Revived)
			}
			first := &user{ID: id, Username: name, Password: password}
			e.login(t, first)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", first.Access, nil), http.StatusOK)

			admin := e.adminToken(t)
			wantStatus(t, e.do(t, http.MethodDelete, fmt.Sprintf("/v1/users/%d", id), admin, nil), http.StatusNoContent)
			e.wantGone(t, id)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", first.Access, nil), http.StatusUnauthorized)

			// The same row again: the same person, but a new account.
			sum, password = e.importOne(t, id, name)
			wantRevived(t, sum, id)
			wantTokenRefused(t, e.do(t, http.MethodGet, "/v1/me", first.Access, nil))
			wantTokenRefused(t, e.refresh(t, "/v1/auth/refresh", first.Refresh))
			second := &user{ID: id, Username: name, Password: password}
			e.login(t, second)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", second.Access, nil), http.StatusOK)

			// Another person at the same id.
			wantStatus(t, e.do(t, http.MethodDelete, fmt.Sprintf("/v1/users/%d", id), admin, nil), http.StatusNoContent)
			other := unique("someone-else")
			sum, password = e.importOne(t, id, other)
			wantRevived(t, sum, id)
			for _, old := range []*user{first, second} {
				wantTokenRefused(t, e.do(t, http.MethodGet, "/v1/me", old.Access, nil))
				wantTokenRefused(t, e.do(t, http.MethodGet, "/user-area/", old.Access, nil))
				wantTokenRefused(t, e.refresh(t, "/v1/auth/refresh", old.Refresh))
			}
			third := &user{ID: id, Username: other, Password: password}
			e.login(t, third)
			r := e.do(t, http.MethodGet, "/v1/me", third.Access, nil)
			wantStatus(t, r, http.StatusOK)
			wantUser(t, r.What, r.object(t), e.stored(t, id))
			// The key is in the user's own tokens, and in no answer.
			key := e.stored(t, id).AccountKey
			for _, r := range []*response{r, e.do(t, http.MethodGet, fmt.Sprintf("/v1/users/%d", id), admin, nil),
				e.do(t, http.MethodGet, "/v1/users?limit=200", admin, nil)} {
				wantStatus(t, r, http.StatusOK)
				if strings.Contains(string(r.Body), key) {
					t.Errorf("%s: got the account key in %s, want it never shown", r.What, r.Body)
				}
			}
			if got := e.stored(t, id).Username; got != other {
				t.Errorf("user %d: got username %q, want %q", id, got, other)
			}
		})
	}
}
