package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// policyWithStaffDelete writes the shipped policy plus a grant letting
// staff delete any user, with the test file changed to expect it, and
// returns the --policy and --tests flags naming them.
func policyWithStaffDelete(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	pol, err := os.ReadFile("../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("../../policy/policy_test.csv")
	if err != nil {
		t.Fatal(err)
	}
	pol = append(pol, "p, staff, users, delete, any\n"...)
	staffDelete := regexp.MustCompile(`(?m)^deny,(\s+staff,\s+users,\s+delete,)`)
	if n := len(staffDelete.FindAll(tests, -1)); n != 2 {
		t.Fatalf("shipped tests: got %d staff delete cases, want 2", n)
	}
	tests = staffDelete.ReplaceAll(tests, []byte("allow,$1"))
	p, tf := filepath.Join(dir, "policy.csv"), filepath.Join(dir, "policy_test.csv")
	os.WriteFile(p, pol, 0o644)
	os.WriteFile(tf, tests, 0o644)
	return []string{"--policy", p, "--tests", tf}
}

// publishEnv is testEnv with the shipped test file and route table, which
// publish validates and stores.
func publishEnv(t *testing.T, dbURL string, extra map[string]string) func(string) string {
	t.Helper()
	vars := map[string]string{
		"ROLEGATE_POLICY_TESTS":  "../../policy/policy_test.csv",
		"ROLEGATE_POLICY_ROUTES": "../../policy/routes.csv",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return testEnv(t, dbURL, vars)
}

var publishedLine = regexp.MustCompile(`published policy version ([0-9a-f]{64}) \(#(\d+)\)`)

// publishPolicy runs "policy publish" with args and returns the version.
func publishPolicy(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	out, err := runCmd(t, getenv, "", append([]string{"policy", "publish"}, args...)...)
	m := publishedLine.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("publish %v: got %q, %v; want a published version", args, out, err)
	}
	return m[1]
}

func latestRowID(t *testing.T, dbURL string) int64 {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := st.LatestPolicyVersionID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPolicyPublishRefusesBrokenPolicy(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := publishEnv(t, target.URL, nil)
			dir := t.TempDir()
			broken := filepath.Join(dir, "policy.csv")
			os.WriteFile(broken, []byte("p, admin, users, read, any\np, admin, users\n"), 0o644)
			lax := filepath.Join(dir, "lax.csv")
			shipped, _ := os.ReadFile("../../policy/policy.csv")
			os.WriteFile(lax, append(shipped, "p, staff, users, delete, any\n"...), 0o644)
			cases := []struct {
				args []string
				want string
			}{
				{[]string{"--policy", broken}, "policy.csv:2: p rule has 2 fields"},
				{[]string{"--policy", lax}, "policy_test.csv:77: staff, users, delete, other: expected deny, got allow"},
			}
			for _, c := range cases {
				out, err := runCmd(t, getenv, "", append([]string{"policy", "publish"}, c.args...)...)
				if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "not published") {
					t.Errorf("publish %v: got %q, %v; want exit 1 naming %q", c.args, out, err, c.want)
				}
			}
			if id := latestRowID(t, target.URL); id != 0 {
				t.Errorf("rows after refused publishes: got latest id %d, want none", id)
			}
			out, err := runCmd(t, getenv, "", "policy", "versions")
			if err != nil || !strings.Contains(out, "no policy version is published") {
				t.Errorf("versions: got %q, %v; want none published", out, err)
			}
		})
	}
}

func TestPolicyPublishVersionsRollback(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := publishEnv(t, target.URL, map[string]string{"USER": "alice"})
			first := publishPolicy(t, getenv, "--comment", "shipped")
			if out, err := runCmd(t, getenv, "", "policy", "publish"); err != nil || !strings.Contains(out, "already the newest") {
				t.Errorf("publish the same again: got %q, %v; want nothing published", out, err)
			}
			second := publishPolicy(t, getenv, policyWithStaffDelete(t)...)
			if second == first {
				t.Fatal("a changed policy kept its version")
			}
			out, err := runCmd(t, getenv, "", "policy", "rollback", first[:8])
			if err != nil || !strings.Contains(out, "published policy version "+first+" (#3)") {
				t.Fatalf("rollback: got %q, %v; want %s as #3", out, err, first)
			}
			out, err = runCmd(t, getenv, "", "policy", "versions")
			want := regexp.MustCompile(`(?s)^\s+ID\s+VERSION.*\n\*\s+3\s+` + first[:12] + `\s+\S+\s+alice\s+rollback to ` + first[:12] +
				` \(#1\)\n\s+2\s+` + second[:12] + `\s+\S+\s+alice\s+-\n\s+1\s+` + first[:12] + `\s+\S+\s+alice\s+shipped\n$`)
			if err != nil || !want.MatchString(out) {
				t.Errorf("versions: got %q, %v; want 3, 2, 1 with 3 current", out, err)
			}
			for _, bad := range []string{"zz", "0000000000"} {
				if out, err := runCmd(t, getenv, "", "policy", "rollback", bad); err == nil {
					t.Errorf("rollback %s: got %q, want an error", bad, out)
				}
			}
		})
	}
}

func TestDatabaseModeNeedsAPublishedPolicy(t *testing.T) {
	getenv := publishEnv(t, dbtest.Targets(t)[0].URL, map[string]string{"ROLEGATE_POLICY_SOURCE": "database"})
	if _, err := runCmd(t, getenv, "", "serve"); err == nil || !strings.Contains(err.Error(), "run 'rolegate policy publish'") {
		t.Errorf("serve with nothing published: got %v, want it to say to publish", err)
	}
}

// TestDatabaseModeFollowsPublishes runs one server on SQLite, which polls
// for new versions, and shows GET /v1/policy naming the row in force.
func TestDatabaseModeFollowsPublishes(t *testing.T) {
	target := dbtest.Targets(t)[0]
	getenv := publishEnv(t, target.URL, map[string]string{"ROLEGATE_POLICY_SOURCE": "database"})
	first := publishPolicy(t, getenv)
	if _, err := runCmd(t, getenv, "correct horse battery staple\n", "users", "create", "--username", "root", "--role", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	base := startServer(t, getenv)
	if v := policyVersionOf(t, base); v != first {
		t.Fatalf("version at start: got %s, want %s", v, first)
	}
	second := publishPolicy(t, getenv, policyWithStaffDelete(t)...)
	deadline := time.Now().Add(5 * time.Second)
	for policyVersionOf(t, base) != second {
		if time.Now().After(deadline) {
			t.Fatal("version unchanged 5s after publish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, tokens := postJSON(t, base+"/login/", map[string]string{"username": "root", "password": "correct horse battery staple"})
	admin, _ := tokens["access"].(string)
	got := getPolicy(t, base, admin)
	o := got.Origin
	if o.Mode != "database" || o.Published.ID != 2 || o.Published.Version != second || o.Published.PublishedAt.IsZero() || got.LastReload.Trigger != "notify" {
		t.Errorf("GET /v1/policy: got %+v, want database row 2 loaded by notify", got)
	}

	// A broken row (written by hand: publish refuses them) is refused like
	// a broken file, and the policy in force stays.
	st, err := store.Open(context.Background(), target.URL, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PublishPolicyVersion(context.Background(), models.PolicyVersion{Version: "broken", Model: "[nonsense", Policy: "p, x\n"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); got.LastReload.OK; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no failed reload 5s after a broken version was published")
		}
		got = getPolicy(t, base, admin)
	}
	if got.Version != second || got.Origin.Published.ID != 2 || got.LastReload.Trigger != "notify" || len(got.LastReload.Errors) == 0 {
		t.Errorf("after a broken version: got %+v, want row 2 still in force and the reload's errors", got)
	}
}

// policyState is the part of GET /v1/policy the tests look at.
type policyState struct {
	Version string
	Origin  struct {
		Mode      string
		Published struct {
			ID          int64
			Version     string
			PublishedAt time.Time `json:"published_at"`
		}
	}
	LastReload struct {
		Trigger string
		OK      bool
		Errors  []map[string]any
	} `json:"last_reload"`
}

func getPolicy(t *testing.T, base, token string) policyState {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/policy", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got policyState
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/policy: got %d, %v; want 200", resp.StatusCode, err)
	}
	return got
}

func policyVersionOf(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Policy-Version")
}

// withPassword adds a password to a database URL's user, which the test
// server's trust authentication ignores.
func withPassword(t *testing.T, dbURL, password string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

// TestPolicyPublishNamesItsTarget: publish and rollback say, first, which
// database they write to, with its password hidden.
func TestPolicyPublishNamesItsTarget(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			dbURL := target.URL
			if target.Name == "postgres" {
				dbURL = withPassword(t, dbURL, "s3cret-pw")
			}
			getenv := publishEnv(t, dbURL, nil)
			want := "target database: " + config.RedactURL(dbURL) + "\n"
			out, err := runCmd(t, getenv, "", "policy", "publish")
			if err != nil || !strings.HasPrefix(out, want) || strings.Contains(out, "s3cret-pw") {
				t.Fatalf("publish: got %q, %v; want it to start %q, without the password", out, err, want)
			}
			version := publishedLine.FindStringSubmatch(out)
			if version == nil {
				t.Fatalf("publish: got %q, want a published version", out)
			}
			out, err = runCmd(t, getenv, "", "policy", "rollback", version[1][:8])
			if err != nil || !strings.HasPrefix(out, want) {
				t.Errorf("rollback: got %q, %v; want it to start %q", out, err, want)
			}
		})
	}
}

// TestPolicyVersionsRefuseSQLiteInProduction: in production a SQLite
// database, above all the development default, is a forgotten setting;
// publish, rollback and versions refuse it before creating the file.
func TestPolicyVersionsRefuseSQLiteInProduction(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{
		"ROLEGATE_ENV": "production", "ROLEGATE_POLICY_MODEL": "../../policy/model.conf", "ROLEGATE_POLICY_FILE": "../../policy/policy.csv",
		"ROLEGATE_POLICY_TESTS": "../../policy/policy_test.csv", "ROLEGATE_POLICY_ROUTES": "../../policy/routes.csv",
		"ROLEGATE_JWT_KEY_FILE": filepath.Join(dir, "keys.json"),
	}
	getenv := func(k string) string { return vars[k] }
	for _, args := range [][]string{{"policy", "publish"}, {"policy", "rollback", "abcdef"}, {"policy", "versions"}} {
		out, err := runCmd(t, getenv, "", args...)
		want := "ROLEGATE_DATABASE_URL: sqlite:data/rolegate.db is the development default, SQLite; with ROLEGATE_ENV=production, name the replicas' PostgreSQL database"
		if exitCode(err) != 1 || !strings.Contains(err.Error(), want) || out != "" {
			t.Errorf("%v: got %q, %v; want exit 1 and %q", args, out, err, want)
		}
	}
	if _, err := os.Stat("data/rolegate.db"); err == nil {
		t.Error("a refused command created data/rolegate.db")
	}
	vars["ROLEGATE_DATABASE_URL"] = "sqlite:" + filepath.Join(dir, "x.db")
	_, err := runCmd(t, getenv, "", "policy", "publish", "--database-url", "sqlite:"+filepath.Join(dir, "y.db"))
	if err == nil || !strings.Contains(err.Error(), "--database-url: sqlite:"+filepath.Join(dir, "y.db")+" is SQLite;") {
		t.Errorf("SQLite by flag: got %v, want the flag named", err)
	}
	for _, name := range []string{"x.db", "y.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("a refused publish created %s", name)
		}
	}
}
