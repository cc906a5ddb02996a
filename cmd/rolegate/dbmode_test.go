package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
)

// TestUserCommandsAskThePublishedPolicy: with ROLEGATE_POLICY_SOURCE=
// database, users create and users import check roles against the
// version the servers serve, not against the policy files on this host.
// SQLite supports database mode too (its servers poll), so both run.
func TestUserCommandsAskThePublishedPolicy(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			published, _ := policyWith(t, "p, auditor, users, list, any")
			local, _ := policyWith(t, "p, ghost, users, list, any")
			getenv := publishEnv(t, target.URL, map[string]string{
				"ROLEGATE_POLICY_SOURCE": "database", "ROLEGATE_POLICY_FILE": local,
			})
			create := func(role string) (string, error) {
				return runCmd(t, getenv, "correct horse battery staple\n",
					"users", "create", "--username", "u-"+role, "--role", role, "--password-stdin")
			}
			if _, err := create("auditor"); err == nil || !strings.Contains(err.Error(), "run 'rolegate policy publish'") {
				t.Errorf("create with nothing published: got %v, want the publish asked for", err)
			}
			publishPolicy(t, getenv, "--policy", published)

			if out, err := create("auditor"); err != nil || !strings.Contains(out, "created user") {
				t.Errorf("create with a role only the published version defines: got %q, %v; want it created", out, err)
			}
			if _, err := create("ghost"); err == nil || !strings.Contains(err.Error(), `role: "ghost" is not a role the policy defines (admin, auditor, staff, user)`) {
				t.Errorf("create with a role only the local file defines: got %v, want it refused", err)
			}

			file := filepath.Join(t.TempDir(), "users.json")
			os.WriteFile(file, []byte(`[
				{"id": 501, "username": "imported-auditor", "role": "auditor", "password_hash": "!"},
				{"id": 502, "username": "imported-ghost", "role": "ghost", "password_hash": "!"}
			]`), 0o600)
			out, err := runCmd(t, getenv, "", "users", "import", file)
			if err == nil || !strings.Contains(out, "imported 1, unchanged 0, failed 1") ||
				!strings.Contains(out, `row 2 (id 502): role: "ghost" is not a role the policy defines`) {
				t.Errorf("import: got %q, %v; want auditor imported and ghost refused", out, err)
			}
			out, err = runCmd(t, getenv, "", "users", "list", "--role", "auditor")
			if rows := tableRows(t, out); err != nil || len(rows) != 2 {
				t.Errorf("list of auditors: got %q, %v; want the created and the imported one", out, err)
			}
		})
	}
}
