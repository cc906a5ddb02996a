package main

import (
	"context"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestTenantsCommands sets up the seed's guest tenant from a shell, as the
// README does, and checks the database and the audit trail after.
func TestTenantsCommands(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, map[string]string{"USER": "ops"})
			for _, name := range []string{"guest", "olivia"} {
				out, err := runCmd(t, getenv, "a long enough password\n", "users", "create", "--username", name, "--role", "user", "--password-stdin")
				if err != nil {
					t.Fatalf("users create %s: %q, %v", name, out, err)
				}
			}
			steps := []struct {
				args []string
				want string
			}{
				{[]string{"tenants", "create", "--slug", "guest", "--name", "Guest", "--owner", "olivia"}, "olivia is its owner"},
				{[]string{"tenants", "add-member", "--tenant", "guest", "--user", "guest", "--role", "admin"}, "guest is admin of guest"},
				{[]string{"tenants", "list"}, "guest"},
				{[]string{"tenants", "list", "--user", "guest"}, "admin"},
			}
			for _, s := range steps {
				out, err := runCmd(t, getenv, "", s.args...)
				if err != nil || !strings.Contains(out, s.want) {
					t.Fatalf("%s: got %q, %v; want it to say %q", strings.Join(s.args, " "), out, err, s.want)
				}
			}
			for _, s := range []struct {
				args []string
				want string
			}{
				{[]string{"tenants", "create", "--slug", "guest", "--name", "Again"}, "already exists"},
				{[]string{"tenants", "create", "--slug", "Bad Slug", "--name", "x"}, "slug"},
				{[]string{"tenants", "create", "--slug", "x1"}, "needs --slug and --name"},
				{[]string{"tenants", "add-member", "--tenant", "guest", "--user", "guest", "--role", "billing"}, "not a tenant role"},
				{[]string{"tenants", "add-member", "--tenant", "nope", "--user", "guest", "--role", "user"}, "no tenant"},
				{[]string{"tenants", "add-member", "--tenant", "guest", "--user", "nobody", "--role", "user"}, "no user"},
				{[]string{"tenants", "remove-member", "--tenant", "guest", "--user", "olivia"}, "last active owner"},
			} {
				out, err := runCmd(t, getenv, "", s.args...)
				if err == nil || !strings.Contains(out+err.Error(), s.want) {
					t.Errorf("%s: got %q, %v; want an error saying %q", strings.Join(s.args, " "), out, err, s.want)
				}
			}
			out, err := runCmd(t, getenv, "", "tenants", "remove-member", "--tenant", "guest", "--user", "guest")
			if err != nil || !strings.Contains(out, "no longer a member") {
				t.Fatalf("remove-member: got %q, %v", out, err)
			}
			st, err := store.Open(context.Background(), target.URL, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tn, err := st.TenantByRef(context.Background(), "guest")
			if err != nil {
				t.Fatal(err)
			}
			members, err := st.ListMembers(context.Background(), tn.ID, models.MemberFilter{Limit: 10})
			if err != nil || len(members) != 1 || members[0].User.Username != "olivia" || members[0].Role != "owner" {
				t.Errorf("members: got %v, %v; want olivia, the owner", members, err)
			}
			events, err := st.ListAuditEvents(context.Background(), models.AuditFilter{TenantID: tn.ID, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range events {
				actions = append(actions, e.Action)
				if e.ActorRole != models.CLIRole || e.Detail["by"] != "ops" {
					t.Errorf("event %s: got actor %q by %v, want cli by ops", e.Action, e.ActorRole, e.Detail["by"])
				}
			}
			if got := strings.Join(actions, ","); got != "member.remove,member.add,tenant.create" {
				t.Errorf("trail: got %s, want the remove, the add and the create, newest first", got)
			}
		})
	}
}

// TestServeRefusesACreatorRoleThatIsNoOwner: a tenant created with a role
// that may not delete it would have no owner.
func TestServeRefusesACreatorRoleThatIsNoOwner(t *testing.T) {
	for role, want := range map[string]string{"admin": "may not delete the tenant", "founder": "not a tenant role"} {
		getenv := testEnv(t, dbtest.Targets(t)[0].URL, map[string]string{"ROLEGATE_TENANT_CREATOR_ROLE": role})
		_, err := runCmd(t, getenv, "", "serve")
		if err == nil || !strings.Contains(err.Error(), "ROLEGATE_TENANT_CREATOR_ROLE") || !strings.Contains(err.Error(), want) {
			t.Errorf("ROLEGATE_TENANT_CREATOR_ROLE=%s: got %v, want a refusal saying %q", role, err, want)
		}
	}
}
