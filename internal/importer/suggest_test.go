package importer_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/importer"
)

func TestSuggestPolicyFromDjangoGroups(t *testing.T) {
	f, err := importer.Read(bytes.NewReader(readFile(t, projectMeats)))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := importer.SuggestPolicy(&out, f.Groups); err != nil {
		t.Fatal(err)
	}
	// The fixture's support group gives exactly the shipped policy's
	// support lines.
	want := "p, group:support, users, list, any\np, group:support, users, read, any\n" +
		"p, group:support, tenants, list, any\np, group:support, tenant, read, any\np, group:support, members, list, any\n"
	if !strings.HasSuffix(out.String(), "# row 1 (pk 1): group \"support\"\n"+want) || !strings.Contains(out.String(), "nothing was applied") {
		t.Errorf("got:\n%s\nwant it to end with the support lines:\n%s", out.String(), want)
	}
	policy := string(readFile(t, "../../policy/policy.csv"))
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		fields := strings.Split(line, ", ")
		if !strings.Contains(strings.Join(strings.Fields(policy), " "), strings.Join(fields, ", ")) {
			t.Errorf("suggested %q is not in the shipped policy", line)
		}
	}

	groups := []importer.GroupRow{{Ref: "row 2 (pk 2)", Name: "sales", Permissions: []importer.Permission{
		{Codename: "change_user", App: "auth", Model: "user"},
		{Codename: "view_customer", App: "customers", Model: "customer"},
		{Codename: "can_export", App: "auth", Model: "user"},
		{PK: 42},
	}}, {Ref: "row 3 (pk 3)", Name: "a,b"}}
	out.Reset()
	if err := importer.SuggestPolicy(&out, groups); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"p, group:sales, users, update, any\n",
		"# view_customer (customers.customer): no rolegate grant is known for it",
		"# can_export (auth.user): no rolegate grant is known for it",
		"# permission 42: export with --natural-foreign to name it",
		"# row 3 (pk 3): group \"a,b\"\n# skipped: a policy subject cannot hold a comma",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("got:\n%s\nwant it to contain %q", out.String(), w)
		}
	}
}
