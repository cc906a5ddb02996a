package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
)

// documentedEdit is the policy edit the README walks through under
// "rolegate policy test": a grant appended to policy.csv, and the
// test-file lines that must change with it, old text to new.
type documentedEdit struct {
	rule    string
	changes [][2]string
}

// readDocumentedEdit takes the edit from the README exactly as written, so
// that this test follows the documentation rather than a copy of it.
func readDocumentedEdit(t *testing.T) documentedEdit {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	region := regexp.MustCompile("(?s)<!-- golden: policy test -->(.*?)<!-- /golden -->").FindSubmatch(data)
	if region == nil {
		t.Fatal("README.md: no <!-- golden: policy test --> region")
	}
	var edit documentedEdit
	if m := regexp.MustCompile(`(?m)^\$ echo '([^']+)' >> policy/policy\.csv`).FindSubmatch(region[1]); m != nil {
		edit.rule = string(m[1])
	}
	diff := regexp.MustCompile("(?s)```diff\n(.*?)```").FindSubmatch(region[1])
	if edit.rule == "" || diff == nil {
		t.Fatalf("README.md: the policy test example has no echo ... >> policy/policy.csv or no diff block:\n%s", region[1])
	}
	var old string
	for _, line := range strings.Split(string(diff[1]), "\n") {
		switch {
		case strings.HasPrefix(line, "---"), strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "@@"), line == "":
		case strings.HasPrefix(line, "-"):
			old = line[1:]
		case strings.HasPrefix(line, "+") && old != "":
			edit.changes = append(edit.changes, [2]string{old, line[1:]})
			old = ""
		default:
			t.Fatalf("README.md: diff line %q: want -old then +new", line)
		}
	}
	if len(edit.changes) == 0 {
		t.Fatal("README.md: the diff changes no line")
	}
	return edit
}

// linesOf returns the 1-based numbers of the lines of text equal to each
// of want, in file order; each must be there exactly once.
func linesOf(t *testing.T, text string, want []string) []int {
	t.Helper()
	var lines []int
	for _, w := range want {
		var at []int
		for i, l := range strings.Split(text, "\n") {
			if l == w {
				at = append(at, i+1)
			}
		}
		if len(at) != 1 {
			t.Fatalf("policy_test.csv: got %q at lines %v, want it once", w, at)
		}
		lines = append(lines, at[0])
	}
	slices.Sort(lines)
	return lines
}

var adviceQuote = regexp.MustCompile(`update policy_test\.csv:\d+(?:, :\d+)*(?: and :\d+)?, which expects? (?:allow|deny)`)

// TestDocumentedPolicyEdit makes the README's example edit on a running
// server: the grant alone is refused, naming the test lines that expect
// deny and saying to update them, as the documents quote; with the
// test-file change the documents show, the reload succeeds and staff can
// delete a user.
func TestDocumentedPolicyEdit(t *testing.T) {
	edit := readDocumentedEdit(t)
	for _, doc := range []string{"../../README.md", "../../docs/migrating-from-django.md", "../../policy/policy.csv"} {
		if data, _ := os.ReadFile(doc); !strings.Contains(string(data), edit.rule) {
			t.Errorf("%s: does not name the README's example grant %q", doc, edit.rule)
		}
	}
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			e := startOn(t, false, target.URL)
			admin := e.login(t, "admin-edit", "admin")
			staff := e.login(t, "staff-edit", "staff")
			victim := e.storeUser(t, "victim-edit")

			replace(t, e.policyFile, e.read(t, e.policyFile)+edit.rule+"\n")
			var refused struct {
				Errors []struct {
					File   string
					Line   int
					Reason string
				}
			}
			if resp := e.do(t, http.MethodPost, "/v1/policy/reload", admin, nil, &refused); resp.StatusCode != http.StatusUnprocessableEntity || len(refused.Errors) < 2 {
				t.Fatalf("reload with %q alone: got %d %+v, want 422 with the failing cases and advice", edit.rule, resp.StatusCode, refused)
			}
			olds := make([]string, len(edit.changes))
			for i, c := range edit.changes {
				olds[i] = c[0]
			}
			want := linesOf(t, e.read(t, e.testsFile), olds)
			var got []int
			for _, le := range refused.Errors[:len(refused.Errors)-1] {
				got = append(got, le.Line)
			}
			if !slices.Equal(got, want) {
				t.Errorf("refusal: got failing test lines %v, want %v, the lines the README's diff changes", got, want)
			}
			advice := refused.Errors[len(refused.Errors)-1].Reason
			quoted := adviceQuote.FindString(advice)
			if wantAdvice := fmt.Sprintf("update policy_test.csv%s, which expect deny", joinLines(want)); quoted != wantAdvice {
				t.Errorf("refusal: got %q, want it to say %q", advice, wantAdvice)
			}
			for _, doc := range []string{"../../README.md", "../../docs/migrating-from-django.md", "../../policy/policy.csv"} {
				data, _ := os.ReadFile(doc)
				for _, q := range adviceQuote.FindAllString(string(data), -1) {
					if q != quoted {
						t.Errorf("%s: quotes %q, want the refusal's own %q", doc, q, quoted)
					}
				}
			}
			if resp := e.do(t, http.MethodDelete, fmt.Sprintf("/v1/users/%d", victim.ID), staff, nil, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("staff delete under the refused policy: got %d, want 403", resp.StatusCode)
			}

			tests := e.read(t, e.testsFile)
			for _, c := range edit.changes {
				tests = strings.Replace(tests, "\n"+c[0]+"\n", "\n"+c[1]+"\n", 1)
			}
			replace(t, e.testsFile, tests)
			var reloaded struct{ Changed bool }
			if resp := e.do(t, http.MethodPost, "/v1/policy/reload", admin, nil, &reloaded); resp.StatusCode != http.StatusOK || !reloaded.Changed {
				t.Fatalf("reload with the test file changed as documented: got %d %+v, want 200 and changed", resp.StatusCode, reloaded)
			}
			if resp := e.do(t, http.MethodDelete, fmt.Sprintf("/v1/users/%d", victim.ID), staff, nil, nil); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("staff delete under the new policy: got %d, want 204", resp.StatusCode)
			}
			if u, err := e.srv.Store.UserByID(context.Background(), victim.ID); models.ErrorCode(err) != models.ENOTFOUND {
				t.Errorf("user %d after staff deleted it: got %+v, %v; want not found", victim.ID, u, err)
			}
		})
	}
}

// joinLines renders lines as a refusal names them: ":61", ":61 and :65",
// ":61, :65 and :70".
func joinLines(lines []int) string {
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = fmt.Sprintf(":%d", l)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// storeUser creates an active user with role user directly in the store.
func (e *env) storeUser(t *testing.T, username string) *models.User {
	t.Helper()
	u, err := e.srv.Store.CreateUser(context.Background(), &models.User{Username: username, Role: "user", IsActive: true, PasswordHash: "unusable"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}
