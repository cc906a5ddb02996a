package importer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/importer"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// projectMeats is seed 003's ProjectMeats export: auth.user, auth.group
// and the tenants app, with natural foreign keys. Its README gives these
// passwords.
const projectMeats = "testdata/projectmeats-dumpdata.json"

var projectMeatsPasswords = map[string]string{
	"root": "root-projectmeats-1", "support": "support-projectmeats-2", "guest": "guest-projectmeats-3",
	"olivia": "olivia-projectmeats-4", "adam": "adam-projectmeats-5", "mia": "mia-projectmeats-6",
	"ursula": "ursula-projectmeats-7", "rob": "rob-projectmeats-8", "gina": "gina-projectmeats-9",
	"ivan": "ivan-projectmeats-10",
}

// tenantOptions are the CLI's options with the shipped policy's tenant
// roles and groups.
func tenantOptions(t *testing.T) (importer.Options, *authz.Policy) {
	t.Helper()
	pol, err := authz.Load("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	return importer.Options{
		HasRole: pol.HasRole, DefaultRole: "user", SuperuserRole: "admin", StaffRole: "staff",
		HasTenantRole: pol.HasTenantRole, HasGroup: pol.HasGroup,
	}, pol
}

func importFile(t *testing.T, st *store.Store, data []byte, opts importer.Options) importer.Summary {
	t.Helper()
	f, err := importer.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	sum, err := importer.ImportFile(ctx, st, f, opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum
}

// wantTallies checks what became of the users, tenants, memberships and
// group memberships, as "imported/unchanged/failed".
func wantTallies(t *testing.T, sum importer.Summary, users, tenants, members, groups string) {
	t.Helper()
	got := []string{
		fmt.Sprintf("%d/%d/%d", sum.Imported, sum.Unchanged, len(sum.Failures)-sum.Tenants.Failed-sum.Members.Failed-sum.GroupMembers.Failed-sum.Groups.Failed),
		tally(sum.Tenants), tally(sum.Members), tally(sum.GroupMembers),
	}
	want := []string{users, tenants, members, groups}
	if !slices.Equal(got, want) {
		t.Fatalf("got users, tenants, memberships, groups %v, want %v; failures %v", got, want, sum.Failures)
	}
}

func tally(t importer.Tally) string {
	return fmt.Sprintf("%d/%d/%d", t.Imported, t.Unchanged, t.Failed)
}

// dbRows returns the rows of query, which takes no parameters (so that it
// reads the same on both databases), each formatted with fmt.Sprint.
func dbRows(t *testing.T, st *store.Store, query string) []string {
	t.Helper()
	db, err := st.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tenantLayer is the stored tenant layer, one line a row, in a fixed order.
func tenantLayer(t *testing.T, st *store.Store) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT 'tenant', id, slug, name, CASE WHEN is_active THEN 'active' ELSE 'inactive' END FROM tenants ORDER BY id",
		"SELECT 'member', t.slug, u.username, m.role, CASE WHEN m.is_active THEN 'active' ELSE 'inactive' END FROM tenant_members m JOIN tenants t ON t.id = m.tenant_id JOIN users u ON u.id = m.user_id ORDER BY t.id, u.id",
		"SELECT 'group', g.group_name, u.username FROM user_groups g JOIN users u ON u.id = g.user_id ORDER BY g.group_name, u.id",
		"SELECT 'user', id, username, role FROM users ORDER BY id",
	} {
		out = append(out, dbRows(t, st, q)...)
	}
	return out
}

// projectMeatsLayer is what the fixture's README says, as tenantLayer
// shows it.
var projectMeatsLayer = []string{
	"tenant 1 acme Acme Meats active", "tenant 2 globex Globex Foods active",
	"tenant 3 guest Guest Tenant active", "tenant 4 oldco Old Co inactive",
	"member acme olivia owner active", "member acme adam admin active", "member acme mia manager active",
	"member acme ursula user active", "member acme rob readonly active", "member acme ivan user active",
	"member globex adam user inactive", "member globex ursula readonly active", "member globex gina owner active",
	"member guest root owner active", "member guest guest admin active",
	"member oldco gina owner active",
	"group support support",
	"user 1 root admin", "user 2 support staff", "user 3 guest user", "user 4 olivia user", "user 5 adam user",
	"user 6 mia user", "user 7 ursula user", "user 8 rob user", "user 9 gina user", "user 10 ivan user",
}

func TestProjectMeatsImport(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			opts, pol := tenantOptions(t)
			data := readFile(t, projectMeats)
			sum := importFile(t, st, data, opts)
			wantTallies(t, sum, "10/0/0", "4/0/0", "12/0/0", "1/0/0")
			if sum.Groups.Total != 1 {
				t.Errorf("groups read: got %d, want 1", sum.Groups.Total)
			}
			if got := tenantLayer(t, st); !slices.Equal(got, projectMeatsLayer) {
				t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(projectMeatsLayer, "\n"))
			}
			checkProjectMeatsLogins(t, st)
			checkProjectMeatsDecisions(t, st, pol)

			// Again: nothing changes, and everything is reported unchanged.
			sum = importFile(t, st, data, opts)
			wantTallies(t, sum, "0/10/0", "0/4/0", "0/12/0", "0/1/0")
			if got := tenantLayer(t, st); !slices.Equal(got, projectMeatsLayer) {
				t.Errorf("stored after the second import:\n%s", strings.Join(got, "\n"))
			}
			// Ids were kept, and a new tenant gets the next one.
			created, err := st.CreateTenant(ctx, &models.Tenant{Slug: "newco", Name: "New Co", IsActive: true}, 0, "")
			if err != nil || created.ID != 5 {
				t.Errorf("next tenant: got %+v, %v; want id 5", created, err)
			}
		})
	}
}

// checkProjectMeatsLogins logs each imported person in with the password
// of the fixture's README; ivan is inactive and cannot.
func checkProjectMeatsLogins(t *testing.T, st *store.Store) {
	t.Helper()
	svc := loginService(t, st)
	for name, password := range projectMeatsPasswords {
		_, _, err := svc.Login(ctx, name, password, "")
		if name == "ivan" {
			if !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("inactive ivan: got %v, want bad credentials", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s's login with the Django password: %v", name, err)
		}
	}
}

// subjectIn builds the subject the server builds for username asking
// about tenant slug ("" for none): the stored role and groups, and the
// standing the store reads for each request (the role of an active
// membership: an inactive one is no membership).
func subjectIn(t *testing.T, st *store.Store, username, slug string) models.Subject {
	t.Helper()
	u := userNamed(t, st, username)
	sub := models.Subject{ID: u.ID, Role: u.Role}
	for _, row := range dbRows(t, st, "SELECT user_id, group_name FROM user_groups ORDER BY group_name") {
		if id, group, _ := strings.Cut(row, " "); id == fmt.Sprint(u.ID) {
			sub.Groups = append(sub.Groups, group)
		}
	}
	if slug == "" {
		return sub
	}
	tenant, err := st.TenantByRef(ctx, slug)
	if err != nil {
		t.Fatalf("tenant %s: %v", slug, err)
	}
	standing, err := st.TenantStanding(ctx, tenant.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sub.Tenant = &standing
	return sub
}

// tenantChecks are the questions asked in each tenant: read it, create a
// record, delete someone else's record, delete the tenant.
var tenantChecks = []struct {
	res    models.Resource
	action string
}{
	{models.Resource{Type: "tenant"}, "read"},
	{models.Resource{Type: "customers"}, "create"},
	{models.Resource{Type: "sales_orders", OwnerID: 999}, "delete"},
	{models.Resource{Type: "tenant"}, "delete"},
}

// checkProjectMeatsDecisions asks, for each person and tenant, what the
// memberships of the README give: "y" allowed, "-" denied, for each of
// tenantChecks; pairs not listed are all denied.
func checkProjectMeatsDecisions(t *testing.T, st *store.Store, pol *authz.Policy) {
	t.Helper()
	everywhere := func(flags string) map[string]string {
		return map[string]string{"acme": flags, "globex": flags, "guest": flags, "oldco": flags}
	}
	want := map[string]map[string]string{
		"root":    everywhere("yyyy"), // system admin: every tenant action everywhere
		"support": everywhere("y---"), // staff and the support group: read only
		"guest":   {"guest": "yyy-"},  // tenant admin of guest only
		"olivia":  {"acme": "yyyy"},   // owner
		"adam":    {"acme": "yyy-"},   // admin; his globex membership is inactive
		"mia":     {"acme": "yyy-"},   // manager
		"ursula":  {"acme": "yy--", "globex": "y---"},
		"rob":     {"acme": "y---"},
		"gina":    {"globex": "yyyy", "oldco": "yyyy"},
	}
	for name, tenants := range want {
		for _, slug := range []string{"acme", "globex", "guest", "oldco"} {
			sub := subjectIn(t, st, name, slug)
			var got strings.Builder
			for _, c := range tenantChecks {
				d, err := pol.Decide(sub, c.res, c.action)
				if err != nil {
					t.Fatal(err)
				}
				got.WriteString(map[bool]string{true: "y", false: "-"}[d.Allowed])
			}
			w := tenants[slug]
			if w == "" {
				w = "----"
			}
			if got.String() != w {
				t.Errorf("%s in %s (subject %+v, tenant %+v): got %s, want %s", name, slug, sub, *sub.Tenant, got.String(), w)
			}
		}
	}
	// System rights come from the system role and groups alone.
	for name, allowed := range map[string]bool{"root": true, "support": true, "guest": false, "olivia": false} {
		d, err := pol.Decide(subjectIn(t, st, name, ""), models.Resource{Type: "users"}, "list")
		if err != nil || d.Allowed != allowed {
			t.Errorf("%s lists users: got %v (%v), want %v", name, d.Allowed, err, allowed)
		}
	}
}

// numericKeys rewrites a --natural-foreign export as one made without it:
// users, tenants and groups named by pk.
func numericKeys(t *testing.T, data []byte) []byte {
	t.Helper()
	var entries []map[string]any
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	pks := map[string]any{}
	for _, e := range entries {
		f := e["fields"].(map[string]any)
		switch e["model"] {
		case "auth.user":
			pks["user "+f["username"].(string)] = e["pk"]
		case "auth.group":
			pks["group "+f["name"].(string)] = e["pk"]
		}
	}
	for _, e := range entries {
		f := e["fields"].(map[string]any)
		switch e["model"] {
		case "tenants.tenantuser":
			f["user"] = pks["user "+f["user"].([]any)[0].(string)]
		case "auth.user":
			for i, g := range f["groups"].([]any) {
				f["groups"].([]any)[i] = pks["group "+g.([]any)[0].(string)]
			}
		}
	}
	out, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte(`["olivia"]`)) || !bytes.Contains(out, []byte(`"groups":[1]`)) {
		t.Fatalf("the rewrite left natural keys: %s", out)
	}
	return out
}

func TestProjectMeatsImportWithNumericKeys(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			opts, _ := tenantOptions(t)
			numeric := numericKeys(t, readFile(t, projectMeats))
			wantTallies(t, importFile(t, st, numeric, opts), "10/0/0", "4/0/0", "12/0/0", "1/0/0")
			if got := tenantLayer(t, st); !slices.Equal(got, projectMeatsLayer) {
				t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(projectMeatsLayer, "\n"))
			}
			// The same people exported with natural keys are the same rows.
			wantTallies(t, importFile(t, st, readFile(t, projectMeats), opts), "0/10/0", "0/4/0", "0/12/0", "0/1/0")
		})
	}
}

// TestTenantsAppAloneNamesStoredUsers imports the users first, and then
// an export of the tenants app alone, whose keys name users already
// stored, by name and by pk.
func TestTenantsAppAloneNamesStoredUsers(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			opts, _ := tenantOptions(t)
			hash := djangoPBKDF2(t, "a-long-password", "saltsaltsalt", 1000)
			users := fixture(t,
				djangoEntry("auth.user", 40, map[string]any{"username": "Olga", "password": hash}),
				djangoEntry("auth.user", 41, map[string]any{"username": "piotr", "password": hash, "is_staff": true}),
			)
			wantTallies(t, importFile(t, st, users, opts), "2/0/0", "0/0/0", "0/0/0", "0/0/0")
			tenants := fixture(t,
				map[string]any{"model": "tenants.tenant", "pk": 70, "fields": map[string]any{"name": "Seventy", "slug": "seventy", "is_active": true, "created_at": "2024-01-01T00:00:00Z"}},
				map[string]any{"model": "tenants.tenantuser", "pk": 1, "fields": map[string]any{"tenant": 70, "user": []string{"olga"}, "role": "owner", "is_active": true}},
				map[string]any{"model": "tenants.tenantuser", "pk": 2, "fields": map[string]any{"tenant": []string{"seventy"}, "user": 41, "role": "manager", "is_active": true}},
			)
			wantTallies(t, importFile(t, st, tenants, opts), "0/0/0", "1/0/0", "2/0/0", "0/0/0")
			got := dbRows(t, st, "SELECT tenant_id, user_id, role FROM tenant_members ORDER BY user_id")
			if want := []string{"70 40 owner", "70 41 manager"}; !slices.Equal(got, want) {
				t.Errorf("memberships: got %v, want %v", got, want)
			}
			if u := userNamed(t, st, "piotr"); u.Role != "staff" {
				t.Errorf("is_staff without a role: got %q, want staff", u.Role)
			}
		})
	}
}

func TestBadTenantRowsAreReportedAndSkipped(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			opts, _ := tenantOptions(t)
			tenant := func(pk int64, slug, name string) map[string]any {
				return map[string]any{"model": "tenants.tenant", "pk": pk, "fields": map[string]any{"name": name, "slug": slug, "is_active": true, "created_at": "2024-01-01T00:00:00Z"}}
			}
			member := func(pk int64, tenant, user any, role string) map[string]any {
				return map[string]any{"model": "tenants.tenantuser", "pk": pk, "fields": map[string]any{"tenant": tenant, "user": user, "role": role, "is_active": true, "created_at": "2024-01-01T00:00:00Z"}}
			}
			data := fixture(t,
				djangoEntry("auth.user", 1, map[string]any{"username": "ann", "groups": []any{[]string{"support"}, []string{"auditors"}, 9, "x"}}),
				djangoEntry("auth.user", 2, map[string]any{"username": "bad name"}),
				tenant(1, "acme", "Acme"),
				tenant(2, "Not A Slug", "Bad"),
				tenant(3, "acme", "Acme again"),
				tenant(4, "blank", ""),
				member(1, 1, []string{"ann"}, "owner"),
				member(2, 1, []string{"ann"}, "admin"),
				member(3, 1, 2, "user"),
				member(4, 1, []string{"nobody"}, "user"),
				member(5, 2, 1, "user"),
				member(6, 1, 1, "emperor"),
				member(7, 99, 1, "user"),
				member(8, map[string]any{"slug": "acme"}, 1, "user"),
				map[string]any{"model": "auth.group", "pk": 1, "fields": map[string]any{"name": "", "permissions": []any{}}},
			)
			sum := importFile(t, st, data, opts)
			wantTallies(t, sum, "1/0/1", "1/0/3", "1/0/7", "1/0/3")
			want := []string{
				"row 1 (pk 1), group [\"auditors\"]: group \"auditors\" is not defined by the policy",
				"row 1 (pk 1), group 9: group 9 is not in the file",
				"row 1 (pk 1), group \"x\": group: \"x\" is neither a pk nor a natural key",
				"row 2 (pk 2): username: Enter a valid username",
				"row 4 (pk 2): slug: Enter 2 to 63 lowercase letters",
				"row 5 (pk 3): slug: \"acme\" repeats row 3 (pk 1)",
				"row 6 (pk 4): name: This field may not be blank.",
				"row 8 (pk 2): the membership of user [\"ann\"] in tenant 1 repeats row 7 (pk 1)",
				"row 9 (pk 3): user: 2 was not imported (row 2 (pk 2))",
				"row 10 (pk 4): user: [\"nobody\"] is neither in the file nor in rolegate",
				"row 11 (pk 5): tenant: 2 was not imported (row 4 (pk 2))",
				"row 12 (pk 6): role: \"emperor\" is not a tenant role the policy defines",
				"row 13 (pk 7): there is no tenant 99",
				"row 14 (pk 8): tenant: {\"slug\":\"acme\"} is neither a pk nor a natural key",
				"row 15 (pk 1): name: missing",
			}
			if len(sum.Failures) != len(want) {
				t.Errorf("got %d failures, want %d: %v", len(sum.Failures), len(want), sum.Failures)
			}
			for i, f := range sum.Failures {
				if i < len(want) && !strings.HasPrefix(f.Ref+": "+f.Reason, want[i]) {
					t.Errorf("failure %d: got %s: %s; want it to start %s", i, f.Ref, f.Reason, want[i])
				}
			}
			got := dbRows(t, st, "SELECT tenant_id, user_id, role FROM tenant_members")
			if want := []string{"1 1 owner"}; !slices.Equal(got, want) {
				t.Errorf("memberships: got %v, want %v", got, want)
			}
			if got := dbRows(t, st, "SELECT user_id, group_name FROM user_groups"); !slices.Equal(got, []string{"1 support"}) {
				t.Errorf("groups: got %v, want ann in support only", got)
			}
		})
	}
}
