package importer

import (
	"fmt"
	"io"
	"strings"
)

// grant is one suggested policy grant: a resource and an action, with
// scope any.
type grant struct{ resource, action string }

// djangoGrants maps Django's default model permissions of the models
// rolegate knows to the grants that give the same right. A permission not
// listed has no single rolegate equivalent and is printed as a comment.
var djangoGrants = map[string][]grant{
	"view_auth.user":          {{"users", "list"}, {"users", "read"}},
	"add_auth.user":           {{"users", "create"}},
	"change_auth.user":        {{"users", "update"}},
	"delete_auth.user":        {{"users", "delete"}},
	"view_tenants.tenant":     {{"tenants", "list"}, {"tenant", "read"}},
	"add_tenants.tenant":      {{"tenants", "create"}},
	"change_tenants.tenant":   {{"tenant", "update"}},
	"delete_tenants.tenant":   {{"tenant", "delete"}},
	"view_tenants.tenantuser": {{"members", "list"}},
	"view_auth.group":         {{"groups", "list"}, {"groups", "read"}},
}

// SuggestPolicy writes, for each Django group of groups, the policy lines
// that would give its members what its model permissions gave them, for
// an administrator to review: nothing is applied. Permissions without a
// rolegate equivalent, and those exported as bare pks, are written as
// comments saying so.
func SuggestPolicy(w io.Writer, groups []GroupRow) error {
	var b strings.Builder
	b.WriteString("# Suggested policy lines for the Django groups of this export, for review:\n")
	b.WriteString("# nothing was applied. Copy the ones you want into policy.csv, with cases\n")
	b.WriteString("# in policy_test.csv, then import the file to put the users in their groups.\n")
	if len(groups) == 0 {
		b.WriteString("# The export has no auth.group entries.\n")
	}
	for _, g := range groups {
		suggestGroup(&b, g)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func suggestGroup(b *strings.Builder, g GroupRow) {
	fmt.Fprintf(b, "\n# %s: group %q\n", g.Ref, g.Name)
	if g.Problem != "" {
		fmt.Fprintf(b, "# skipped: %s\n", g.Problem)
		return
	}
	if strings.ContainsAny(g.Name, ",\"\n") {
		fmt.Fprintf(b, "# skipped: a policy subject cannot hold a comma, a quote or a line break; rename the group\n")
		return
	}
	if len(g.Permissions) == 0 {
		b.WriteString("# no permissions: its members get nothing from it\n")
	}
	seen := map[grant]bool{}
	for _, p := range g.Permissions {
		if p.PK != 0 {
			fmt.Fprintf(b, "# permission %d: export with --natural-foreign to name it\n", p.PK)
			continue
		}
		action, isDefault := strings.CutSuffix(p.Codename, "_"+p.Model)
		grants, ok := djangoGrants[action+"_"+p.App+"."+p.Model]
		if !isDefault || !ok {
			fmt.Fprintf(b, "# %s (%s.%s): no rolegate grant is known for it; write one by hand if needed\n", p.Codename, p.App, p.Model)
			continue
		}
		for _, gr := range grants {
			if !seen[gr] {
				seen[gr] = true
				fmt.Fprintf(b, "p, group:%s, %s, %s, any\n", g.Name, gr.resource, gr.action)
			}
		}
	}
}
