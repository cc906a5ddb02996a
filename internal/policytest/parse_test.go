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
		3: "has 4 fields, want at least 5",
		4: `expect is "maybe", want allow or deny`,
		5: "field 2 (role) is empty",
		6: `owner is "mine"`,
		7: `subject_id is "-3"`,
		8: "cannot parse line",
		9: `field 7: "extra": want tenant=<role>, tenant=-, group=<name> or break_glass=read|write`,
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

// TestParseReadsTenantAndGroupOptions: after the owner (and the subject
// id), key=value fields put the caller in a tenant, with a role, without
// one, or under break-glass, and in groups; String gives them back.
func TestParseReadsTenantAndGroupOptions(t *testing.T) {
	data := strings.Join([]string{
		"allow, user, records, update, self, tenant=user",
		"deny, staff, records, read, none, tenant=-",
		"allow, staff, records, read, none, break_glass=read",
		"allow, user, users, list, none, group=support, group=audit",
		"allow, user, records, read, self, 7, tenant = admin , group=support",
		"allow, staff, tenant, update, none, tenant=-, break_glass=write",
	}, "\n")
	cases, err := policytest.Parse("t.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		inTenant             bool
		tenantRole, breakGls string
		groups               string
		subjectID, ownerID   int64
		text                 string
	}{
		{true, "user", "", "", 1, 1, "user, records, update, self, tenant=user"},
		{true, "", "", "", 1, 0, "staff, records, read, none, tenant=-"},
		{true, "", "read", "", 1, 0, "staff, records, read, none, break_glass=read"},
		{false, "", "", "support,audit", 1, 0, "user, users, list, none, group=support, group=audit"},
		{true, "admin", "", "support", 7, 7, "user, records, read, self, 7, tenant=admin, group=support"},
		{true, "", "write", "", 1, 0, "staff, tenant, update, none, tenant=-, break_glass=write"},
	}
	if len(cases) != len(want) {
		t.Fatalf("got %d cases, want %d", len(cases), len(want))
	}
	for i, w := range want {
		c := cases[i]
		if c.InTenant != w.inTenant || c.TenantRole != w.tenantRole || c.BreakGlass != w.breakGls || strings.Join(c.Groups, ",") != w.groups ||
			c.SubjectID != w.subjectID || c.OwnerID != w.ownerID || c.String() != w.text {
			t.Errorf("line %d: got %+v (%q), want %+v", i+1, c, c.String(), w)
		}
		sub := c.Subject()
		if (sub.Tenant != nil) != w.inTenant || sub.Role != c.Role || sub.ID != c.SubjectID || strings.Join(sub.Groups, ",") != w.groups {
			t.Errorf("line %d: Subject() got %+v, want the case's caller", i+1, sub)
		}
		if sub.Tenant != nil && (sub.Tenant.Role != w.tenantRole || sub.Tenant.BreakGlass != w.breakGls || sub.Tenant.TenantID == 0) {
			t.Errorf("line %d: Subject().Tenant got %+v, want role %q, break-glass %q in a tenant", i+1, sub.Tenant, w.tenantRole, w.breakGls)
		}
	}
}

func TestParseRefusesBadOptions(t *testing.T) {
	data := strings.Join([]string{
		"allow, user, records, read, none, tenant=admin, tenant=user",
		"allow, user, records, read, none, group=a, group=a",
		"allow, user, records, read, none, break_glass=admin",
		"allow, user, records, read, none, break_glass=read, break_glass=write",
		"allow, user, records, read, none, tenant=tenant:admin",
		"allow, user, records, read, none, role=admin",
		"allow, user, records, read, none, tenant=",
		"allow, user, records, read, none, tenant=admin, 7",
		"allow, user, records, read, none, tenant=-, tenant=-",
	}, "\n")
	_, err := policytest.Parse("t.csv", []byte(data))
	var errs authz.LoadErrors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want LoadErrors", err)
	}
	want := map[int]string{
		1: `field 7: "tenant=user": the line already names its tenant`,
		2: `field 7: "group=a": the line already names its group`,
		3: `field 6: "break_glass=admin": want break_glass=read or break_glass=write`,
		4: `field 7: "break_glass=write": the line already names its break_glass`,
		5: `field 6: "tenant=tenant:admin": a name holds no ":"`,
		6: `field 6: "role=admin": want tenant=<role>, tenant=-, group=<name> or break_glass=read|write`,
		7: `field 6: "tenant=": want tenant=<role>`,
		8: `field 7: "7": want tenant=<role>`,
		9: `field 7: "tenant=-": the line already names its tenant`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for _, e := range errs {
		if !strings.Contains(e.Reason, want[e.Line]) {
			t.Errorf("got %s, want t.csv:%d with %q", e.Error(), e.Line, want[e.Line])
		}
	}
}
