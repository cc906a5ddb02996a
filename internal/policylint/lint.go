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

// cycles reports "g" rules that make roles inherit from themselves. Casbin
// tolerates them, but they are a mistake: every role in the cycle gets the
// grants of all the others.
func (c *checker) cycles() {
	type edge struct {
		to   string
		line int
	}
	edges := map[string][]edge{}
	for _, r := range c.rules {
		if r.isInheritance() {
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
				c.add(Error, c.policyFile, e.line, "g rules form a cycle: %s", strings.Join(cycle, " inherits "))
			}
		}
		path = path[:len(path)-1]
		state[role] = done
	}
	for _, r := range c.rules {
		if r.isInheritance() && state[r.fields[1]] == unseen {
			visit(r.fields[1])
		}
	}
}

// emptyInheritance reports "g" rules whose inherited role has no grants,
// directly or through its own inheritance: the line gives nothing, which
// usually means a misspelt role.
func (c *checker) emptyInheritance() {
	if !c.cols.ok {
		return
	}
	granted := map[string]bool{}
	for _, r := range c.rules {
		if r.isGrant() {
			granted[field(r, c.cols.sub)] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, r := range c.rules {
			if r.isInheritance() && granted[r.fields[2]] && !granted[r.fields[1]] {
				granted[r.fields[1]], changed = true, true
			}
		}
	}
	for _, r := range c.rules {
		if r.isInheritance() && !granted[r.fields[2]] {
			c.add(Error, c.policyFile, r.line, "%s can never match: role %q has no grants, so %s inherits nothing", r, r.fields[2], r.fields[1])
		}
	}
}

// unknownRoles reports roles that tests or the configuration name but the
// policy does not define. A test for such a role can only ever be denied,
// which hides a typo; a default role the policy lacks stops rolegate from
// starting.
func (c *checker) unknownRoles(cases []policytest.Case, defaultRole string) {
	defined := strings.Join(c.p.Roles(), ", ")
	known := func(role string) bool { return role == models.AnonymousRole || c.p.HasRole(role) }
	reported := map[string]bool{}
	for _, tc := range cases {
		if !known(tc.Role) && !reported[tc.Role] {
			reported[tc.Role] = true
			c.add(Error, c.testsFile, tc.Line, "role %q is not defined by the policy (%s)", tc.Role, defined)
		}
	}
	if defaultRole != "" && !c.p.HasRole(defaultRole) {
		c.add(Error, c.policyFile, 0, "the default role %q (ROLEGATE_DEFAULT_ROLE) is not defined by the policy (%s); rolegate will not start", defaultRole, defined)
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
