package policytest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policytest"
)

func TestParseReadsCases(t *testing.T) {
	data := strings.Join([]string{
		"# expect, role, resource, action, owner",
		"",
		"allow, admin,  users, list,   none",
		"  deny,  staff, users, delete, other  ",
		"allow, user, users, read, self",
		"deny, anonymous, users, read, self",
		"allow, user, users, read, 7, 7",
		"deny, staff, users, update, other, 5",
	}, "\n")
	cases, err := policytest.Parse("t.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []policytest.Case{
		{Line: 3, Allow: true, Role: "admin", Resource: "users", Action: "list", Owner: "none", SubjectID: 1, OwnerID: 0},
		{Line: 4, Allow: false, Role: "staff", Resource: "users", Action: "delete", Owner: "other", SubjectID: 1, OwnerID: 2},
		{Line: 5, Allow: true, Role: "user", Resource: "users", Action: "read", Owner: "self", SubjectID: 1, OwnerID: 1},
		{Line: 6, Allow: false, Role: "anonymous", Resource: "users", Action: "read", Owner: "self", SubjectID: 0, OwnerID: 0},
		{Line: 7, Allow: true, Role: "user", Resource: "users", Action: "read", Owner: "7", SubjectID: 7, OwnerID: 7},
		{Line: 8, Allow: false, Role: "staff", Resource: "users", Action: "update", Owner: "other", SubjectID: 5, OwnerID: 6},
	}
	if len(cases) != len(want) {
		t.Fatalf("got %d cases, want %d", len(cases), len(want))
	}
	for i, w := range want {
		g := cases[i]
		if g.Line != w.Line || g.Allow != w.Allow || g.Role != w.Role || g.Resource != w.Resource ||
			g.Action != w.Action || g.Owner != w.Owner || g.SubjectID != w.SubjectID || g.OwnerID != w.OwnerID {
			t.Errorf("case %d: got %+v, want %+v", i, g, w)
		}
	}
	if got, want := cases[5].String(), "staff, users, update, other, 5"; got != want {
		t.Errorf("String with a subject id: got %q, want %q", got, want)
	}
	if got, want := cases[1].String(), "staff, users, delete, other"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
}

func TestParseReportsEveryBadLineWithItsLine(t *testing.T) {
	data := strings.Join([]string{
		"# header",
		"allow, admin, users, list, none",
		"allow, admin, users, list",
		"maybe, admin, users, list, none",
		"allow, , users, list, none",
		"allow, admin, users, read, mine",
		"allow, admin, users, read, self, -3",
		`allow, "admin, users, read, self`,
		"allow, admin, users, read, self, 1, extra",
	}, "\n")
	_, err := policytest.Parse("policy_test.csv", []byte(data))
	var errs authz.LoadErrors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want LoadErrors", err)
	}
	want := map[int]string{
		3: "has 4 fields, want 5 or 6",
		4: `expect is "maybe", want allow or deny`,
		5: "field 2 (role) is empty",
		6: `owner is "mine"`,
		7: `subject_id is "-3"`,
		8: "cannot parse line",
		9: "has 7 fields",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for _, e := range errs {
		if e.File != "policy_test.csv" || !strings.Contains(e.Reason, want[e.Line]) {
			t.Errorf("got %s, want policy_test.csv:%d with %q", e.Error(), e.Line, want[e.Line])
		}
	}
}

// A test file follows the policy file's line syntax: Windows line endings
// and quoted fields are read; a byte order mark and a trailing comma are
// refused at their line.
func TestParseLineSyntax(t *testing.T) {
	cases, err := policytest.Parse("t.csv", []byte("# cases\r\nallow, \" a,b \", users, read, self\r\n\r\n  # x\r\ndeny, user, users, read, other, 3\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[0].Line != 2 || cases[0].Role != "a,b" || cases[1].Line != 5 || cases[1].SubjectID != 3 {
		t.Fatalf("got %+v, want a,b at line 2 and subject 3 at line 5", cases)
	}
	_, err = policytest.Parse("t.csv", []byte("\ufeffallow, admin, users, list, none\nallow, admin, users, list, none,\nallow, \"admin\" , users, list, none\n"))
	var errs authz.LoadErrors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("got %v, want 3 LoadErrors", err)
	}
	for i, want := range []string{`expect is "\ufeffallow"`, "field 6 (subject_id) is empty", `cannot parse line: extraneous or missing " in quoted-field`} {
		if e := errs[i]; e.Line != i+1 || !strings.Contains(e.Reason, want) {
			t.Errorf("got %s, want t.csv:%d with %q", e.Error(), i+1, want)
		}
	}
}

func TestParseEmptyFileHasNoCases(t *testing.T) {
	cases, err := policytest.Parse("t.csv", []byte("# only a comment\n\n"))
	if err != nil || len(cases) != 0 {
		t.Errorf("got %v, %v; want no cases and no error", cases, err)
	}
}
