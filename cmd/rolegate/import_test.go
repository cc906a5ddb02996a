package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// seedExport is the seed's real dumpdata export, kept with the importer.
const seedExport = "../../internal/importer/testdata/django-seed-dumpdata.json"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tableRows returns the rows of a "users list" table without its header,
// each split into columns.
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ID ") {
		t.Fatalf("got %q, want a table with a header", out)
	}
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

// TestSeedUsersImportListAndLogIn follows the README's migration: import
// the seed's export, list the users, and log in with a seed password.
func TestSeedUsersImportListAndLogIn(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, nil)
			out, err := runCmd(t, getenv, "", "users", "import", seedExport)
			if err != nil || !strings.HasPrefix(out, "imported 4, unchanged 0, failed 0 (of 4 rows) in ") {
				t.Fatalf("import: got %q, %v; want 4 imported", out, err)
			}
			if out, err := runCmd(t, getenv, "", "users", "import", seedExport); err != nil || !strings.HasPrefix(out, "imported 0, unchanged 4, failed 0") {
				t.Fatalf("second import: got %q, %v; want 4 unchanged", out, err)
			}
			out, err = runCmd(t, getenv, "", "users", "list")
			if err != nil {
				t.Fatal(err)
			}
			rows := tableRows(t, out)
			want := []string{"1", "alice", "alice@example.com", "admin", "yes", "2026-11-22T12:56:46Z", "never"}
			if len(rows) != 4 || strings.Join(rows[0], " ") != strings.Join(want, " ") || rows[3][4] != "no" {
				t.Errorf("list: got %q, want alice first with %v and dave inactive last", out, want)
			}
			for _, c := range []struct {
				args []string
				want string
			}{{[]string{"--role", "staff"}, "bob"}, {[]string{"--search", "CAR"}, "carol"}} {
				out, err := runCmd(t, getenv, "", append([]string{"users", "list"}, c.args...)...)
				if rows := tableRows(t, out); err != nil || len(rows) != 1 || rows[0][1] != c.want {
					t.Errorf("list %v: got %q, %v; want only %s", c.args, out, err, c.want)
				}
			}
			base := startServer(t, getenv)
			resp, tokens := postJSON(t, base+"/login/", map[string]string{"username": "alice", "password": "alice-seed-pass-1"})
			if resp.StatusCode != http.StatusOK || tokens["access"] == nil {
				t.Errorf("alice's login with her Django password: got %d %v, want 200 with tokens", resp.StatusCode, tokens)
			}
		})
	}
}

// TestUsersImportReportsRevivedIDs checks that importing a row again
// after its user was deleted says that the id was a deleted user's.
func TestUsersImportReportsRevivedIDs(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, nil)
			if out, err := runCmd(t, getenv, "", "users", "import", seedExport); err != nil {
				t.Fatalf("import: got %q, %v", out, err)
			}
			st, err := store.Open(context.Background(), target.URL, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.DeleteUser(context.Background(), 2, models.AdminGuard{}); err != nil {
				t.Fatal(err)
			}
			out, err := runCmd(t, getenv, "", "users", "import", seedExport)
			if err != nil {
				t.Fatalf("import again: got %q, %v; want success", out, err)
			}
			for _, want := range []string{
				"row 2 (pk 2): id 2 belonged to a deleted user; imported as a new account",
				"imported 1 (1 under the id of a deleted user), unchanged 3, failed 0 (of 4 rows)",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("got %q, want it to contain %q", out, want)
				}
			}
		})
	}
}

func TestUsersImportReportsBadRowsAndFails(t *testing.T) {
	getenv := testEnv(t, dbtest.Targets(t)[0].URL, nil)
	csv := writeFile(t, "users.csv", "id,username,email,role\n1,ann,ann@example.com,user\n2,bad name,,user\n3,cy,,overlord\n4,dee,,\n")
	out, err := runCmd(t, getenv, "", "users", "import", csv)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "2 of 4 rows failed") {
		t.Errorf("got error %v, want 2 of 4 rows failed, and no usage error", err)
	}
	for _, want := range []string{
		"line 3 (id 2): username: Enter a valid username",
		`line 4 (id 3): role: "overlord" is not a role the policy defines`,
		"imported 2, unchanged 0, failed 2 (of 4 rows)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("got %q, want it to contain %q", out, want)
		}
	}
	if strings.Contains(out, "\r") {
		t.Errorf("got %q, want no progress bar when stderr is not a terminal", out)
	}
}

func TestUsersListPagesThroughEveryUser(t *testing.T) {
	getenv := testEnv(t, dbtest.Targets(t)[0].URL, nil)
	var b strings.Builder
	b.WriteString("id,username,role\n")
	n := 2*listPageSize + 1
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,user%04d,user\n", i*3, i)
	}
	if out, err := runCmd(t, getenv, "", "users", "import", writeFile(t, "many.csv", b.String())); err != nil {
		t.Fatalf("import: %q, %v", out, err)
	}
	out, err := runCmd(t, getenv, "", "users", "list")
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows(t, out)
	if len(rows) != n || rows[n-1][0] != fmt.Sprint(3*n) {
		t.Errorf("got %d rows ending with %v, want %d ending with id %d", len(rows), rows[len(rows)-1], n, 3*n)
	}
}

func TestUsersImportAndListMistakes(t *testing.T) {
	getenv := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	for _, args := range [][]string{{"users", "import"}, {"users", "import", "a", "b"}, {"users", "list", "extra"}, {"users", "frobnicate"}} {
		var ue usageError
		if _, err := runCmd(t, getenv, "", args...); !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
	if _, err := runCmd(t, getenv, "", "users", "import", filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("import of a missing file: got success, want an error")
	}
	if _, err := runCmd(t, getenv, "", "users", "import", writeFile(t, "bad.json", "[{")); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("import of broken JSON: got %v, want an error naming the file", err)
	}
}

func TestProgressBarDrawsOnlyWhenItMoves(t *testing.T) {
	var buf bytes.Buffer
	if newProgressBar(&buf).w != nil {
		t.Fatal("a buffer counts as a terminal")
	}
	bar := &progressBar{w: &buf, percent: -1}
	for _, done := range []int{0, 1, 1, 2, 200} {
		bar.show(done, 200)
	}
	bar.finish()
	want := "\r[........................................]   0% 0/200 rows" +
		"\r[........................................]   1% 2/200 rows" +
		"\r[########################################] 100% 200/200 rows\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestImportWarnsOfUnverifiableHashes: the row is imported, the warning
// names it on standard error, the summary counts it, the exit status is
// 0, and the way out the warning gives works.
func TestImportWarnsOfUnverifiableHashes(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, nil)
			file := writeFile(t, "users.csv", "id,username,role,password_hash\n"+
				"7,oldtimer,user,pbkdf2_sha1$260000$saltsalt$c2hhMQ==\n"+
				"8,newcomer,user,\n")
			stdout, stderr, err := runSplit(t, getenv, "users", "import", file)
			wantExit(t, err, 0)
			for _, want := range []string{
				"line 2 (id 7): warning: password: pbkdf2_sha1 hashes cannot be verified: rolegate verifies argon2id, and Django's pbkdf2_sha256 and argon2; " +
					"oldtimer cannot log in until a password is set (rolegate users set-password oldtimer --password-stdin)\n",
				"line 3 (id 8): warning: password: no password hash;",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr: got %q, want %q", stderr, want)
				}
			}
			if !strings.HasPrefix(stdout, "imported 2, unchanged 0, failed 0 (of 2 rows) in ") ||
				!strings.HasSuffix(stdout, "; 2 imported with a password hash that can never be verified\n") {
				t.Errorf("stdout: got %q, want the summary counting 2 warnings", stdout)
			}
			if out, err := runCmd(t, getenv, "a brand new passphrase\n", "users", "set-password", "oldtimer", "--password-stdin"); err != nil {
				t.Fatalf("set-password, as the warning says: %v\n%s", err, out)
			}
			base := startServer(t, getenv)
			if resp, _ := postJSON(t, base+"/login/", map[string]string{"username": "oldtimer", "password": "a brand new passphrase"}); resp.StatusCode != http.StatusOK {
				t.Errorf("login after set-password: got %d, want 200", resp.StatusCode)
			}
		})
	}
}

// projectMeatsExport is seed 003's ProjectMeats export, kept with the
// importer; its README gives these passwords.
const projectMeatsExport = "../../internal/importer/testdata/projectmeats-dumpdata.json"

// TestProjectMeatsImportAndLogIn follows the README's ProjectMeats
// walkthrough: import the export twice, then every active person logs in
// over HTTP with their Django password.
func TestProjectMeatsImportAndLogIn(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, nil)
			out, err := runCmd(t, getenv, "", "users", "import", projectMeatsExport)
			want := "imported 10, unchanged 0, failed 0 (of 10 rows) in "
			if err != nil || !strings.HasPrefix(out, want) || !strings.Contains(out, "\ntenants: imported 4, unchanged 0, failed 0\ntenant memberships: imported 12, unchanged 0, failed 0\ngroup memberships: imported 1, unchanged 0, failed 0\ngroups: 1 read, failed 0") {
				t.Fatalf("import: got %q, %v; want 10 users, 4 tenants, 12 memberships and 1 group membership", out, err)
			}
			out, err = runCmd(t, getenv, "", "users", "import", projectMeatsExport)
			if err != nil || !strings.HasPrefix(out, "imported 0, unchanged 10, failed 0") || !strings.Contains(out, "tenant memberships: imported 0, unchanged 12, failed 0") {
				t.Fatalf("second import: got %q, %v; want everything unchanged", out, err)
			}
			base := startServer(t, getenv)
			access := map[string]string{}
			for i, name := range []string{"root", "support", "guest", "olivia", "adam", "mia", "ursula", "rob", "gina", "ivan"} {
				password := fmt.Sprintf("%s-projectmeats-%d", name, i+1)
				resp, tokens := postJSON(t, base+"/login/", map[string]string{"username": name, "password": password})
				wantStatus := http.StatusOK
				if name == "ivan" { // is_active false in the export
					wantStatus = http.StatusUnauthorized
				}
				if resp.StatusCode != wantStatus || (wantStatus == http.StatusOK) != (tokens["access"] != nil) {
					t.Errorf("%s's login with the Django password: got %d %v, want %d", name, resp.StatusCode, tokens, wantStatus)
				}
				if a, ok := tokens["access"].(string); ok {
					access[name] = a
				}
			}
			checkProjectMeatsOverHTTP(t, base, access)
		})
	}
}

// checkProjectMeatsOverHTTP asks POST /v1/authz/check, as each imported
// person, whether they may create a customer record in each tenant: yes
// exactly where the export's memberships (or the system admin role) say
// so. oldco is inactive, so gina's ownership of it gives nothing there,
// while root's system role still does; adam's globex membership is
// inactive.
func checkProjectMeatsOverHTTP(t *testing.T, base string, access map[string]string) {
	t.Helper()
	allowedIn := map[string][]string{
		"root": {"acme", "globex", "guest", "oldco"}, "support": nil, "guest": {"guest"},
		"olivia": {"acme"}, "adam": {"acme"}, "mia": {"acme"}, "ursula": {"acme"}, "rob": nil, "gina": {"globex"},
	}
	for name, tenants := range allowedIn {
		for _, slug := range []string{"acme", "globex", "guest", "oldco"} {
			body, _ := json.Marshal(map[string]string{"resource": "customers", "action": "create", "tenant": slug})
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/authz/check", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+access[name])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var answer map[string]any
			err = json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
			want := slices.Contains(tenants, slug)
			if err != nil || resp.StatusCode != http.StatusOK || answer["allowed"] != want {
				t.Errorf("%s creates a customer in %s: got %d %v (%v), want allowed %v", name, slug, resp.StatusCode, answer, err, want)
			}
		}
	}
}

func TestUsersImportRoleFlagsAndPrintPolicy(t *testing.T) {
	target := dbtest.Targets(t)[0]
	getenv := testEnv(t, target.URL, nil)
	out, err := runCmd(t, getenv, "", "users", "import", "--print-policy", projectMeatsExport)
	if err != nil || !strings.Contains(out, "nothing was applied") || !strings.Contains(out, "p, group:support, tenants, list, any\n") {
		t.Fatalf("--print-policy: got %q, %v; want the support group's lines", out, err)
	}
	if out, _ := runCmd(t, getenv, "", "users", "list"); strings.Contains(out, "root") {
		t.Errorf("--print-policy imported users: %q", out)
	}
	out, err = runCmd(t, getenv, "", "users", "import", "--superuser-role", "staff", "--staff-role", "user", "--user-role", "staff", projectMeatsExport)
	if err != nil {
		t.Fatalf("import: %q, %v", out, err)
	}
	out, err = runCmd(t, getenv, "", "users", "list")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, row := range tableRows(t, out) {
		roles[row[1]] = row[3]
	}
	if roles["root"] != "staff" || roles["support"] != "user" || roles["guest"] != "staff" {
		t.Errorf("roles with the mapping flags: got %v, want root staff, support user, guest staff", roles)
	}
}
