package policylint

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/models"
)

// duplicates reports every rule that repeats an earlier one: harmless to
// Casbin, but deleting one copy would then not revoke the grant.
func (c *checker) duplicates() {
	first := map[string]int{}
	for _, r := range c.rules {
		key := strings.Join(r.fields, "\x00")
		if line, ok := first[key]; ok {
			c.add(Error, c.policyFile, r.line, "duplicate rule: %s repeats line %d", r, line)
			continue
		}
		first[key] = r.line
	}
}

// neverMatching reports grants that no request rolegate makes can match,
// such as scope own for the anonymous role, which has no id. Each grant is
// tried alone, with the model's own matcher, against the requests rolegate
// asks about its resource and action, so that a grant hidden behind a
// broader one is not mistaken for one that can never match.
func (c *checker) neverMatching(src authz.Source) {
	if !c.cols.ok {
		return
	}
	for _, r := range c.rules {
		if !r.isGrant() {
			continue
		}
		alone := src
		alone.Policy = csvLine(r.fields)
		p, err := authz.Compile(alone)
		if err != nil || c.canMatch(p, r) {
			continue
		}
		c.add(Error, c.policyFile, r.line, "%s can never match: %s", r, c.whyNever(r))
	}
}

// canMatch reports whether p, holding only grant r, allows any request
// rolegate could make for r's subject, resource and action.
func (c *checker) canMatch(p *authz.Policy, r ruleAt) bool {
	name, resource, action := field(r, c.cols.sub), field(r, c.cols.obj), field(r, c.cols.act)
	sub, ok := authz.SubjectOf(name, policytest.DefaultSubjectID(name))
	if !ok {
		return false
	}
	for _, owner := range ownersAsked(resource, action, sub.ID) {
		d, err := p.Decide(sub, models.Resource{Type: resource, OwnerID: owner}, action)
		if err == nil && d.Allowed {
			return true
		}
	}
	return false
}

// whyNever explains a grant that can never match, in the default model's
// terms where they apply.
func (c *checker) whyNever(r ruleAt) string {
	role, resource, action := field(r, c.cols.sub), field(r, c.cols.obj), field(r, c.cols.act)
	if field(r, c.cols.scope) == authz.ScopeOwn {
		if role == models.AnonymousRole {
			return "an anonymous caller has no id, so it owns nothing and scope own never applies"
		}
		if q, ok := question(resource, action); ok && !q.Owned {
			return fmt.Sprintf("rolegate asks about %s, %s only without an owner, so scope own never applies", resource, action)
		}
	}
	return "no request rolegate makes matches it"
}

// ownersAsked lists the owner ids rolegate's requests for resource and
// action can carry, for a caller with id subjectID: none, the caller's own
// object, or someone else's. For questions rolegate never asks, all three.
func ownersAsked(resource, action string, subjectID int64) []int64 {
	self, other := subjectID, subjectID+1
	q, ok := question(resource, action)
	if !ok {
		return []int64{0, self, other}
	}
	var owners []int64
	if q.Ownerless {
		owners = append(owners, 0)
	}
	if q.Owned {
		owners = append(owners, self, other)
	}
	return owners
}

func question(resource, action string) (models.Question, bool) {
	for _, q := range models.Questions() {
		if q.Covers(resource, action) {
			return q, true
		}
	}
	return models.Question{}, false
}

// csvLine renders fields as one policy file line, quoting as needed.
func csvLine(fields []string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(fields)
	w.Flush()
	return b.Bytes()
}

// cycles reports "g" rules that make roles inherit from themselves, and
// "g2" rules that put a resource group inside itself. Casbin tolerates
// them, but they are a mistake: every role in the cycle gets the grants
// of all the others, every resource those of the others.
func (c *checker) cycles() {
	for _, kind := range []string{"g", "g2"} {
		c.cyclesOf(kind)
	}
}

func (c *checker) cyclesOf(kind string) {
	verb := map[string]string{"g": " inherits ", "g2": " belongs to "}[kind]
	type edge struct {
		to   string
		line int
	}
	edges := map[string][]edge{}
	for _, r := range c.rules {
		if r.isLink(kind) {
			edges[r.fields[1]] = append(edges[r.fields[1]], edge{r.fields[2], r.line})
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(role string)
	visit = func(role string) {
		state[role] = onPath
		path = append(path, role)
		for _, e := range edges[role] {
			switch state[e.to] {
			case unseen:
				visit(e.to)
			case onPath:
				cycle := append(slices.Clone(path[slices.Index(path, e.to):]), e.to)
				c.add(Error, c.policyFile, e.line, "%s rules form a cycle: %s", kind, strings.Join(cycle, verb))
			}
		}
		path = path[:len(path)-1]
		state[role] = done
	}
	for _, r := range c.rules {
		if r.isLink(kind) && state[r.fields[1]] == unseen {
			visit(r.fields[1])
		}
	}
}

// emptyInheritance reports "g" rules whose inherited subject has no
// grants, directly or through its own inheritance, and "g2" rules whose
// resource group has none: the line gives nothing, which usually means a
// misspelt name. A group that grants nothing is one of these: a group is
// a subject of the policy only through its grants or a g line.
func (c *checker) emptyInheritance() {
	if !c.cols.ok {
		return
	}
	for kind, col := range map[string]int{"g": c.cols.sub, "g2": c.cols.obj} {
		granted := map[string]bool{}
		for _, r := range c.rules {
			if r.isGrant() {
				granted[field(r, col)] = true
			}
		}
		for changed := true; changed; {
			changed = false
			for _, r := range c.rules {
				if r.isLink(kind) && granted[r.fields[2]] && !granted[r.fields[1]] {
					granted[r.fields[1]], changed = true, true
				}
			}
		}
		for _, r := range c.rules {
			if r.isLink(kind) && !granted[r.fields[2]] {
				c.add(Error, c.policyFile, r.line, "%s can never match: %s has no grants, so %s", r, describe(kind, r.fields[2]), gainsNothing(kind, r.fields[1]))
			}
		}
	}
}

// describe names a subject (in a g line) or a resource group (g2) for a
// message: role "staff", group "support", tenant role "admin", resource
// group "records".
func describe(kind, name string) string {
	if kind == "g2" {
		return fmt.Sprintf("resource group %q", name)
	}
	for prefix, what := range map[string]string{authz.PrefixGroup: "group", authz.PrefixTenant: "tenant role", authz.PrefixBreakGlass: "break-glass grant"} {
		if bare, ok := strings.CutPrefix(name, prefix); ok {
			return fmt.Sprintf("%s %q", what, bare)
		}
	}
	return fmt.Sprintf("role %q", name)
}

func gainsNothing(kind, name string) string {
	if kind == "g2" {
		return name + " gains nothing"
	}
	return name + " inherits nothing"
}

// unknownRoles reports roles, tenant roles and groups that tests or the
// configuration name but the policy does not define. A test for such a
// name is decided as if the caller did not have it, which hides a typo; a
// default role the policy lacks stops rolegate from starting.
func (c *checker) unknownRoles(cases []policytest.Case, defaultRole string) {
	defined := strings.Join(c.p.Roles(), ", ")
	known := func(role string) bool { return role == models.AnonymousRole || c.p.HasRole(role) }
	reported := map[string]bool{}
	report := func(line int, what, name string, ok bool, defined []string) {
		if !ok && !reported[what+name] {
			reported[what+name] = true
			c.add(Error, c.testsFile, line, "%s %q is not defined by the policy (%s)", what, name, strings.Join(defined, ", "))
		}
	}
	for _, tc := range cases {
		report(tc.Line, "role", tc.Role, known(tc.Role), c.p.Roles())
		if tc.TenantRole != "" {
			report(tc.Line, "tenant role", tc.TenantRole, c.p.HasTenantRole(tc.TenantRole), c.p.TenantRoles())
		}
		for _, g := range tc.Groups {
			report(tc.Line, "group", g, c.p.HasGroup(g), groupNames(c.p))
		}
	}
	if defaultRole != "" && !c.p.HasRole(defaultRole) {
		c.add(Error, c.policyFile, 0, "the default role %q (ROLEGATE_DEFAULT_ROLE) is not defined by the policy (%s); rolegate will not start", defaultRole, defined)
	}
}

func groupNames(p *authz.Policy) []string {
	var out []string
	for _, g := range p.Groups() {
		out = append(out, g.Name)
	}
	return out
}

// tenantLayerOutsideTenants warns about grants to a tenant role or a
// break-glass grant on a question rolegate asks only without a tenant,
// such as users, list: no tenant role answers those, so the line does
// nothing (and a reader may think a tenant admin is an administrator).
func (c *checker) tenantLayerOutsideTenants() {
	if !c.cols.ok {
		return
	}
	for _, r := range c.rules {
		sub := field(r, c.cols.sub)
		if !r.isGrant() || !isTenantLayer(sub) {
			continue
		}
		resource, action := field(r, c.cols.obj), field(r, c.cols.act)
		if q, ok := question(resource, action); ok && !q.InTenant {
			c.add(Warning, c.policyFile, r.line, "%s never applies: rolegate asks about %s, %s only outside tenants, where %s counts for nothing", r, resource, action, sub)
		}
	}
}

// isTenantLayer reports whether the policy subject name belongs to the
// tenant layer: a tenant role or a break-glass grant.
func isTenantLayer(name string) bool {
	return strings.HasPrefix(name, authz.PrefixTenant) || strings.HasPrefix(name, authz.PrefixBreakGlass)
}

// crossLayerInheritance warns about g lines that give a tenant role or a
// break-glass grant the grants of a system role or a group: inside every
// tenant, its members would have what, say, the system admin has there,
// the name collision the layers exist to avoid. The other way round
// ("g, admin, tenant:owner", a system role with an owner's rights in every
// tenant) is a plain statement of the system layer's rights, and so is
// break-glass holding a tenant role.
func (c *checker) crossLayerInheritance() {
	for _, r := range c.rules {
		if r.isLink("g") && isTenantLayer(r.fields[1]) && !isTenantLayer(r.fields[2]) {
			c.add(Warning, c.policyFile, r.line, "%s mixes the layers: inside their tenant, holders of %s get every grant of %s, which is %s", r, r.fields[1], r.fields[2], describe("g", r.fields[2]))
		}
	}
}

// unheldTenantRoles warns about grant lines on tenant_role:<role> for a
// role the policy does not define as a tenant role (no tenant:<role>
// subject): no member can hold it, so the line only hides a typo.
func (c *checker) unheldTenantRoles() {
	if !c.cols.ok {
		return
	}
	for _, r := range c.rules {
		role, ok := strings.CutPrefix(field(r, c.cols.obj), models.TenantRolePrefix)
		if r.isGrant() && ok && !c.p.HasTenantRole(role) {
			c.add(Warning, c.policyFile, r.line, "%s names tenant role %q, which nobody can hold: no line has the subject %s%s (tenant roles: %s)",
				r, role, authz.PrefixTenant, role, strings.Join(c.p.TenantRoles(), ", "))
		}
	}
}

// unasked warns about grants for a resource and action rolegate itself
// never asks about. Only a warning: another service using rolegate as its
// decision point may ask about its own resources.
func (c *checker) unasked() {
	if !c.cols.ok {
		return
	}
	for _, r := range c.rules {
		if !r.isGrant() {
			continue
		}
		resource, action := field(r, c.cols.obj), field(r, c.cols.act)
		if _, ok := question(resource, action); !ok {
			c.add(Warning, c.policyFile, r.line, "rolegate never asks about %s, %s: only another service asking rolegate could use this grant", resource, action)
		}
	}
}
