package importer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TenantWriter stores users and the tenant layer in batches that keep
// their ids. *store.Store is one.
type TenantWriter interface {
	Writer
	ImportTenants(ctx context.Context, tenants []*models.Tenant) ([]store.ImportOutcome, error)
	ImportMembers(ctx context.Context, members []*models.Membership) ([]store.ImportOutcome, error)
	ImportGroupMembers(ctx context.Context, members []store.ImportGroupMember) ([]store.ImportOutcome, error)
	// ImportedIDs finds stored users by username and tenants by slug.
	ImportedIDs(ctx context.Context, usernames, slugs []string) (users, tenants map[string]int64, err error)
}

// ImportFile imports f: its users as Import does and then, from a Django
// export shaped like seed 003's ProjectMeats, its tenants (keeping their
// ids), their memberships, and the users' groups. A membership must name
// a user and a tenant of the file that were imported, or already stored,
// and a tenant role the policy defines; a user's group must be one the
// policy defines. As with users, a tenant, membership or group membership
// already stored is left as it is and counted as unchanged, so importing
// a file again changes nothing. An error means the database failed.
func ImportFile(ctx context.Context, w TenantWriter, f *File, opts Options) (Summary, error) {
	sum, usersStored, err := importUsers(ctx, w, f.Rows, opts)
	if err != nil || len(f.Tenants)+len(f.Members)+len(f.Groups) == 0 && !anyGroups(f.Rows) {
		return sum, err
	}
	start := time.Now()
	imp := &layerImport{w: w, f: f, opts: opts, sum: &sum, now: start.UTC()}
	imp.res = newResolver(f, usersStored)
	err = imp.run(ctx)
	slices.SortStableFunc(sum.Failures, func(a, b Failure) int { return a.entry - b.entry })
	sum.Elapsed += time.Since(start)
	return sum, err
}

func anyGroups(rows []Row) bool {
	return slices.ContainsFunc(rows, func(r Row) bool { return len(r.Groups) > 0 })
}

// layerImport is one import of a file's tenant layer.
type layerImport struct {
	w    TenantWriter
	f    *File
	opts Options
	sum  *Summary
	res  *resolver
	now  time.Time
}

func (imp *layerImport) run(ctx context.Context) error {
	imp.groupDefinitions()
	tenants, err := imp.tenants(ctx)
	if err != nil {
		return err
	}
	imp.res.tenantStored = tenants
	if err := imp.res.lookUpStored(ctx, imp.w, imp.f.Members); err != nil {
		return err
	}
	if err := imp.members(ctx); err != nil {
		return err
	}
	return imp.groupMembers(ctx)
}

// fail records that the row named ref, at entry, failed, in tally.
func (imp *layerImport) fail(tally *Tally, ref string, entry int, reason string) {
	tally.Failed++
	imp.sum.Failures = append(imp.sum.Failures, Failure{Ref: ref, Reason: reason, entry: entry})
}

// groupDefinitions counts the auth.group entries and reports the bad ones.
func (imp *layerImport) groupDefinitions() {
	imp.sum.Groups.Total = len(imp.f.Groups)
	for _, g := range imp.f.Groups {
		if g.Problem != "" {
			imp.fail(&imp.sum.Groups, g.Ref, g.entry, g.Problem)
		}
	}
}

// tenantProblem says why t cannot be imported, or "": the API's rules
// (models.Tenant.Validate), and an id in range.
func tenantProblem(t *models.Tenant) string {
	var problems []string
	if t.ID < 1 || t.ID > MaxID {
		problems = append(problems, fmt.Sprintf("id: %d is not between 1 and %d", t.ID, int64(MaxID)))
	}
	invalid := models.FieldsOf(t.Validate())
	for _, field := range []string{"slug", "name", "settings"} {
		for _, msg := range invalid[field] {
			problems = append(problems, field+": "+msg)
		}
	}
	return strings.Join(problems, "; ")
}

// tenants validates and writes the tenant rows, and returns which are
// stored (imported or unchanged).
func (imp *layerImport) tenants(ctx context.Context) ([]bool, error) {
	rows := imp.f.Tenants
	tally := &imp.sum.Tenants
	tally.Total = len(rows)
	firstByID, firstBySlug := map[int64]string{}, map[string]string{}
	var valid []int
	for i := range rows {
		r := &rows[i]
		reason := r.Problem
		if reason == "" {
			reason = tenantProblem(&r.Tenant)
		}
		if first, dup := firstByID[r.Tenant.ID]; dup && reason == "" {
			reason = fmt.Sprintf("id: %d repeats %s", r.Tenant.ID, first)
		}
		if first, dup := firstBySlug[r.Tenant.Slug]; dup && reason == "" {
			reason = fmt.Sprintf("slug: %q repeats %s", r.Tenant.Slug, first)
		}
		if reason != "" {
			imp.fail(tally, r.Ref, r.entry, reason)
			continue
		}
		if r.Tenant.CreatedAt.IsZero() {
			r.Tenant.CreatedAt = imp.now
		}
		firstByID[r.Tenant.ID], firstBySlug[r.Tenant.Slug] = r.Ref, r.Ref
		valid = append(valid, i)
	}
	return imp.write(valid, len(rows), tally, func(i int) (string, int) { return rows[i].Ref, rows[i].entry },
		func(batch []int) ([]store.ImportOutcome, error) {
			ts := make([]*models.Tenant, len(batch))
			for j, i := range batch {
				ts[j] = &rows[i].Tenant
			}
			return imp.w.ImportTenants(ctx, ts)
		})
}

// members resolves, validates and writes the membership rows.
func (imp *layerImport) members(ctx context.Context) error {
	rows := imp.f.Members
	tally := &imp.sum.Members
	tally.Total = len(rows)
	resolved := make([]models.Membership, len(rows))
	first := map[[2]int64]string{}
	var valid []int
	for i, r := range rows {
		m, reason := imp.member(r)
		key := [2]int64{m.TenantID, m.UserID}
		if f, dup := first[key]; dup && reason == "" {
			reason = fmt.Sprintf("the membership of user %s in tenant %s repeats %s", r.User, r.Tenant, f)
		}
		if reason != "" {
			imp.fail(tally, r.Ref, r.entry, reason)
			continue
		}
		first[key], resolved[i] = r.Ref, m
		valid = append(valid, i)
	}
	_, err := imp.write(valid, len(rows), tally, func(i int) (string, int) { return rows[i].Ref, rows[i].entry },
		func(batch []int) ([]store.ImportOutcome, error) {
			ms := make([]*models.Membership, len(batch))
			for j, i := range batch {
				ms[j] = &resolved[i]
			}
			return imp.w.ImportMembers(ctx, ms)
		})
	return err
}

// member resolves and checks one membership row.
func (imp *layerImport) member(r MemberRow) (models.Membership, string) {
	if r.Problem != "" {
		return models.Membership{}, r.Problem
	}
	m := models.Membership{Role: r.Role, IsActive: r.IsActive, CreatedAt: r.CreatedAt}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = imp.now
	}
	var problems []string
	var p string
	if m.TenantID, p = imp.res.tenant(r.Tenant); p != "" {
		problems = append(problems, p)
	}
	if m.UserID, p = imp.res.user(r.User); p != "" {
		problems = append(problems, p)
	}
	if imp.opts.HasTenantRole == nil || !imp.opts.HasTenantRole(r.Role) {
		problems = append(problems, fmt.Sprintf("role: %q is not a tenant role the policy defines", r.Role))
	}
	return m, strings.Join(problems, "; ")
}

// groupMembers writes the groups of each stored user.
func (imp *layerImport) groupMembers(ctx context.Context) error {
	tally := &imp.sum.GroupMembers
	type item struct {
		ref   string
		entry int
		m     store.ImportGroupMember
	}
	var items []item
	seen := map[store.ImportGroupMember]bool{}
	for i, r := range imp.f.Rows {
		if !imp.res.userStored[i] {
			continue
		}
		for _, k := range r.Groups {
			tally.Total++
			ref := fmt.Sprintf("%s, group %s", r.Ref, k)
			name, reason := imp.res.group(k)
			if reason == "" && (imp.opts.HasGroup == nil || !imp.opts.HasGroup(name)) {
				reason = fmt.Sprintf("group %q is not defined by the policy: add its lines (rolegate users import --print-policy suggests them) and import again", name)
			}
			m := store.ImportGroupMember{UserID: r.User.ID, Group: name}
			if reason == "" && seen[m] {
				reason = fmt.Sprintf("group %q is named twice", name)
			}
			if reason != "" {
				imp.fail(tally, ref, r.entry, reason)
				continue
			}
			seen[m] = true
			items = append(items, item{ref, r.entry, m})
		}
	}
	valid := make([]int, len(items))
	for i := range valid {
		valid[i] = i
	}
	_, err := imp.write(valid, len(items), tally, func(i int) (string, int) { return items[i].ref, items[i].entry },
		func(batch []int) ([]store.ImportOutcome, error) {
			ms := make([]store.ImportGroupMember, len(batch))
			for j, i := range batch {
				ms[j] = items[i].m
			}
			return imp.w.ImportGroupMembers(ctx, ms)
		})
	return err
}

// write stores the valid rows, of n, in batches through call, counts each
// outcome in tally, and returns which rows are stored. ref names a row.
func (imp *layerImport) write(valid []int, n int, tally *Tally, ref func(i int) (string, int), call func(batch []int) ([]store.ImportOutcome, error)) ([]bool, error) {
	stored := make([]bool, n)
	for _, batch := range batches(valid, imp.opts.BatchSize) {
		outcomes, err := call(batch)
		if err != nil {
			first, _ := ref(batch[0])
			last, _ := ref(batch[len(batch)-1])
			return stored, fmt.Errorf("write %s to %s: %w", first, last, err)
		}
		for j, o := range outcomes {
			i := batch[j]
			switch o.Result {
			case store.Imported, store.Revived:
				tally.Imported++
				stored[i] = true
			case store.Unchanged:
				tally.Unchanged++
				stored[i] = true
			default:
				r, entry := ref(i)
				imp.fail(tally, r, entry, o.Reason)
			}
		}
	}
	return stored, nil
}

// resolver turns the keys of a file's rows into the ids of stored rows.
type resolver struct {
	rows         []Row
	userStored   []bool
	userByPK     map[int64]int  // pk → index in rows
	userByName   map[string]int // username key → index in rows
	tenants      []TenantRow
	tenantStored []bool
	tenantByPK   map[int64]int
	tenantBySlug map[string]int
	groupByPK    map[int64]string
	// storedUsers and storedTenants are the ids of stored users and
	// tenants that natural keys name but the file does not hold.
	storedUsers, storedTenants map[string]int64
}

func newResolver(f *File, userStored []bool) *resolver {
	r := &resolver{
		rows: f.Rows, userStored: userStored, userByPK: map[int64]int{}, userByName: map[string]int{},
		tenants: f.Tenants, tenantByPK: map[int64]int{}, tenantBySlug: map[string]int{}, groupByPK: map[int64]string{},
	}
	for i, row := range f.Rows {
		if row.User.ID > 0 {
			putFirst(r.userByPK, row.User.ID, i)
		}
		if row.User.Username != "" {
			putFirst(r.userByName, usernameKey(row.User.Username), i)
		}
	}
	for i, t := range f.Tenants {
		putFirst(r.tenantByPK, t.Tenant.ID, i)
		putFirst(r.tenantBySlug, t.Tenant.Slug, i)
	}
	for _, g := range f.Groups {
		if g.Problem == "" {
			putFirst(r.groupByPK, g.PK, g.Name)
		}
	}
	return r
}

func putFirst[K comparable, V any](m map[K]V, k K, v V) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func usernameKey(name string) string {
	return account.UsernameKey(account.NormalizeUsername(name))
}

// lookUpStored finds the stored users and tenants that the memberships
// name by natural key and the file does not hold.
func (r *resolver) lookUpStored(ctx context.Context, w TenantWriter, members []MemberRow) error {
	var names, slugs []string
	for _, m := range members {
		if m.User.Natural != "" {
			if _, ok := r.userByName[usernameKey(m.User.Natural)]; !ok {
				names = append(names, m.User.Natural)
			}
		}
		if m.Tenant.Natural != "" {
			if _, ok := r.tenantBySlug[m.Tenant.Natural]; !ok {
				slugs = append(slugs, m.Tenant.Natural)
			}
		}
	}
	if len(names)+len(slugs) == 0 {
		return nil
	}
	var err error
	r.storedUsers, r.storedTenants, err = w.ImportedIDs(ctx, names, slugs)
	return err
}

// user returns the id of the user k names, or why there is none.
func (r *resolver) user(k Key) (int64, string) {
	if p := k.problem("user"); p != "" {
		return 0, p
	}
	i, inFile := r.userByPK[k.PK]
	if k.Natural != "" {
		i, inFile = r.userByName[usernameKey(k.Natural)]
	}
	switch {
	case inFile && r.userStored[i]:
		return r.rows[i].User.ID, ""
	case inFile:
		return 0, fmt.Sprintf("user: %s was not imported (%s)", k, r.rows[i].Ref)
	case k.Natural == "":
		return k.PK, "" // a user imported before keeps its pk; the store checks it exists
	}
	if id, ok := r.storedUsers[k.Natural]; ok {
		return id, ""
	}
	return 0, fmt.Sprintf("user: %s is neither in the file nor in rolegate", k)
}

// tenant returns the id of the tenant k names, or why there is none.
func (r *resolver) tenant(k Key) (int64, string) {
	if p := k.problem("tenant"); p != "" {
		return 0, p
	}
	i, inFile := r.tenantByPK[k.PK]
	if k.Natural != "" {
		i, inFile = r.tenantBySlug[k.Natural]
	}
	switch {
	case inFile && r.tenantStored[i]:
		return r.tenants[i].Tenant.ID, ""
	case inFile:
		return 0, fmt.Sprintf("tenant: %s was not imported (%s)", k, r.tenants[i].Ref)
	case k.Natural == "":
		return k.PK, ""
	}
	if id, ok := r.storedTenants[k.Natural]; ok {
		return id, ""
	}
	return 0, fmt.Sprintf("tenant: %s is neither in the file nor in rolegate", k)
}

// group returns the name of the group k names, or why there is none.
func (r *resolver) group(k Key) (string, string) {
	if p := k.problem("group"); p != "" {
		return "", p
	}
	if k.Natural != "" {
		return k.Natural, ""
	}
	if name, ok := r.groupByPK[k.PK]; ok {
		return name, ""
	}
	return "", fmt.Sprintf("group %d is not in the file: export auth.group with the users", k.PK)
}
