package console_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

var userLinkRE = regexp.MustCompile(`<a href="/console/users/(\d+)">([^<]+)</a>`)

// listed returns the usernames of a users page, in order.
func listed(body string) []string {
	var out []string
	for _, m := range userLinkRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[2])
	}
	return out
}

var nextRE = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

// TestUserListSearchFilterSortPage: search, filters and every order page
// through the same users, each once, with the count of the whole match.
func TestUserListSearchFilterSortPage(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tag := strings.ToLower(unique("zq"))
		for i := range 57 {
			role := []string{"user", "staff"}[i%2]
			u := e.user(t, role, func(u *models.User) {
				u.Username = fmt.Sprintf("%s-%02d", tag, (i*37)%57)
				u.IsActive = i%3 != 0
				u.DateJoined = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%5) * time.Hour)
			})
			if i%4 == 0 {
				at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%7) * time.Minute)
				if err := e.srv.Store.RecordLogin(t.Context(), u, at, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		admin := e.signIn(t, "admin")
		r := admin.get(t, "/console/users?q="+tag)
		wantContains(t, r, "<strong>57</strong> users", `rel="next"`)
		r = admin.get(t, "/console/users?q="+strings.ToUpper(tag)+"&role=staff&is_active=false")
		wantContains(t, r, "<strong>9</strong> users")
		for _, n := range listed(r.body) {
			if !strings.HasPrefix(n, tag) {
				t.Errorf("filtered list shows %s", n)
			}
		}
		for _, o := range models.UserOrders {
			var got []string
			next := "/console/users?q=" + tag + "&o=" + o
			for next != "" {
				r := admin.get(t, strings.ReplaceAll(next, "&amp;", "&"))
				wantStatus(t, r, http.StatusOK)
				got = append(got, listed(r.body)...)
				next = ""
				if m := nextRE.FindStringSubmatch(r.body); m != nil {
					next = m[1]
				}
			}
			if len(got) != 57 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 57 {
				t.Fatalf("o=%s: got %d users (%d distinct), want each of 57 once", o, len(got), len(slices.Compact(slices.Sorted(slices.Values(got)))))
			}
			if o == "username" && !slices.IsSorted(got) {
				t.Errorf("o=username: got %v, want sorted", got)
			}
			if o == "-username" && !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
				t.Errorf("o=-username: got %v, want sorted descending", got)
			}
		}
		wantContains(t, admin.get(t, "/console/users?o=bogus&is_active=maybe"), "Unknown sort order", "is_active must be true or false")
	})
}

// TestBulkDeactivate: the confirmation lists every user, and the result
// reports each row, the last active administrator refused.
func TestBulkDeactivate(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		a, b := e.user(t, "user"), e.user(t, "staff")
		ids := url.Values{"action": {"deactivate"}, "id": {fmt.Sprint(a.ID), fmt.Sprint(b.ID), fmt.Sprint(admin.ID), "999999"}}
		r := admin.postCSRF(t, "/console/users/bulk", ids)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, a.Username, b.Username, admin.Username, "no longer exists", "Yes, deactivate 4 users")
		if !e.stored(t, a.ID).IsActive {
			t.Fatal("the confirmation page changed a user")
		}
		r = admin.postCSRF(t, "/console/users/bulk/apply", ids)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "2 of 4 done", "Now inactive.", "Refused:", "Skipped: the user no longer exists.")
		if e.stored(t, a.ID).IsActive || e.stored(t, b.ID).IsActive {
			t.Error("got a selected user still active")
		}
		if !e.stored(t, admin.ID).IsActive {
			t.Error("the last active administrator was deactivated")
		}
		wantStatus(t, admin.postCSRF(t, "/console/users/bulk", url.Values{"action": {"deactivate"}}), http.StatusBadRequest)
		wantStatus(t, admin.postCSRF(t, "/console/users/bulk", url.Values{"action": {"promote"}, "id": {"1"}}), http.StatusBadRequest)
	})
}

// TestEditShowsTheAPIsFieldErrors: a bad email is shown on the form, and
// nothing is saved; a good edit saves and a role change needs assign_role.
func TestEditShowsTheAPIsFieldErrors(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.user(t, "user")
		admin := e.signIn(t, "admin")
		path := fmt.Sprintf("/console/users/%d", u.ID)
		r := admin.postCSRF(t, path, url.Values{"email": {"not an email"}, "first_name": {"Ada"}, "role": {"user"}, "is_active": {"true"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantContains(t, r, "Enter a valid email address.", `aria-invalid="true"`, `value="Ada"`)
		if got := e.stored(t, u.ID); got.Email != u.Email || got.FirstName != "" {
			t.Fatalf("got %q %q, want nothing saved", got.Email, got.FirstName)
		}
		r = admin.postCSRF(t, path, url.Values{"email": {"ada@example.com"}, "first_name": {"Ada"}, "role": {"staff"}, "is_active": {"true"}})
		wantStatus(t, r, http.StatusSeeOther)
		if got := e.stored(t, u.ID); got.Email != "ada@example.com" || got.FirstName != "Ada" || got.Role != "staff" {
			t.Fatalf("got %+v, want the edit saved", got)
		}
		wantContains(t, admin.get(t, path+"?done=saved"), "Saved.")
	})
}

// TestExportCSV: the export streams the filtered list, escapes formulas,
// and holds no password hash.
func TestExportCSV(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tag := strings.ToLower(unique("csv"))
		e.user(t, "user", func(u *models.User) { u.Username = tag + "-a"; u.FirstName = "=HYPERLINK(\"x\")"; u.LastName = "+1" })
		e.user(t, "user", func(u *models.User) { u.Username = tag + "-b"; u.FirstName = "@SUM(A1)"; u.LastName = "-2" })
		e.user(t, "staff", func(u *models.User) { u.Username = tag + "-c" })
		admin := e.signIn(t, "admin")
		r := admin.get(t, "/console/users/export.csv?q="+tag+"&role=user&o=-username")
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("got Content-Type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[1][1] != tag+"-b" || rows[2][1] != tag+"-a" {
			t.Fatalf("got rows %q, want the header and the two users, b first", rows)
		}
		if rows[1][3] != "'@SUM(A1)" || rows[1][4] != "'-2" || rows[2][3] != `'=HYPERLINK("x")` || rows[2][4] != "'+1" {
			t.Errorf("got cells %q %q, want formulas escaped", rows[1], rows[2])
		}
		if strings.Contains(r.body, "argon2") {
			t.Error("the export holds a password hash")
		}
	})
}

// TestResetPasswordAndEndSessions: both need reset_password, end every
// session, and show the API's field errors.
func TestResetPasswordAndEndSessions(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		victim := e.signIn(t, "staff")
		admin := e.signIn(t, "admin")
		path := fmt.Sprintf("/console/users/%d", victim.ID)
		wantContains(t, admin.get(t, path), "1 console session.")
		r := admin.postCSRF(t, path+"/password", url.Values{"new_password": {"short"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantContains(t, r, "too short")
		r = admin.postCSRF(t, path+"/sessions/end", nil)
		wantStatus(t, r, http.StatusSeeOther)
		wantStatus(t, victim.get(t, "/console/"), http.StatusSeeOther)
		wantContains(t, admin.get(t, path), "0 console sessions.")
		before := e.stored(t, victim.ID).PasswordHash
		r = admin.postCSRF(t, path+"/password", url.Values{"new_password": {"Xw4-a-brand-new-passphrase"}})
		wantStatus(t, r, http.StatusSeeOther)
		if e.stored(t, victim.ID).PasswordHash == before {
			t.Error("got the same password hash, want the reset stored")
		}
	})
}

// TestAdminsDeactivatingEachOther: two administrators, each the other's
// only fellow, deactivate each other at the same moment through the
// console; the last-administrator guard, decided on the locked rows, keeps
// one of them active every time.
func TestAdminsDeactivatingEachOther(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for round := range 5 {
			a, b := e.signIn(t, "admin"), e.signIn(t, "admin")
			// Only a and b are active administrators now.
			var others []string
			for _, u := range e.activeAdmins(t) {
				if u != a.ID && u != b.ID {
					others = append(others, fmt.Sprint(u))
				}
			}
			if len(others) > 0 {
				e.deactivate(t, a, others)
			}
			var wg sync.WaitGroup
			for _, pair := range [][2]*person{{a, b}, {b, a}} {
				wg.Go(func() {
					r := pair[0].postCSRF(t, "/console/users/bulk/apply", url.Values{"action": {"deactivate"}, "id": {fmt.Sprint(pair[1].ID)}})
					// 401: the other deactivated this one first, which
					// ended its session.
					if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusUnauthorized {
						t.Errorf("round %d: got status %d", round, r.StatusCode)
					}
				})
			}
			wg.Wait()
			if n := len(e.activeAdmins(t)); n != 1 {
				t.Fatalf("round %d: got %d active administrators, want 1", round, n)
			}
		}
	})
}

func (e *env) activeAdmins(t *testing.T) []int64 {
	t.Helper()
	role, active := "admin", true
	users, err := e.srv.Store.QueryUsers(t.Context(), models.UserQuery{Role: &role, IsActive: &active, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return ids
}

func (e *env) deactivate(t *testing.T, by *person, ids []string) {
	t.Helper()
	wantStatus(t, by.postCSRF(t, "/console/users/bulk/apply", url.Values{"action": {"deactivate"}, "id": ids}), http.StatusOK)
}
