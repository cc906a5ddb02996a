package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// Policy is one rolegate policy as every engine is given it: the compiled
// rolegate policy, which answers for rolegate, and the files it came from,
// which plain Casbin loads itself.
type Policy struct {
	Rolegate   *authz.Policy
	ModelFile  string
	PolicyFile string
}

// LoadPolicy compiles the model and policy files.
func LoadPolicy(modelFile, policyFile string) (Policy, error) {
	p, err := authz.Load(modelFile, policyFile)
	if err != nil {
		return Policy{}, fmt.Errorf("load %s, %s: %w", modelFile, policyFile, err)
	}
	return Policy{Rolegate: p, ModelFile: modelFile, PolicyFile: policyFile}, nil
}

// Grant is one p line: role may do action on resource, on any object or on
// its own ("any" or "own").
type Grant struct {
	Role, Resource, Action, Scope string
}

// Grants returns the policy's grants, every layer's: the p lines in file
// order, with each grant on a resource group (g2) repeated for every
// resource in the group; and the g lines as a map from a subject to the
// subjects it inherits directly.
func (p Policy) Grants() ([]Grant, map[string][]string, error) {
	var grants []Grant
	inherits := map[string][]string{}
	members := map[string][]string{} // a resource group -> the resources in it directly
	for _, r := range p.Rolegate.Rules() {
		switch {
		case r[0] == "p" && len(r) == 5:
			grants = append(grants, Grant{Role: r[1], Resource: r[2], Action: r[3], Scope: r[4]})
		case r[0] == "g" && len(r) == 3:
			inherits[r[1]] = append(inherits[r[1]], r[2])
		case r[0] == "g2" && len(r) == 3:
			members[r[2]] = append(members[r[2]], r[1])
		default:
			return nil, nil, fmt.Errorf("rule %v: only p (role, resource, action, scope), g (role, role) and g2 (resource, group) rules translate", r)
		}
	}
	var out []Grant
	for _, g := range grants {
		if g.Scope != "any" && g.Scope != "own" {
			return nil, nil, fmt.Errorf("grant %v: scope must be any or own", g)
		}
		for _, res := range ancestors(g.Resource, members) {
			out = append(out, Grant{Role: g.Role, Resource: res, Action: g.Action, Scope: g.Scope})
		}
	}
	return out, inherits, nil
}

// systemRole reports whether a policy subject is a system role: one
// without a layer's prefix ("tenant:", "group:", "break_glass:").
func systemRole(subject string) bool { return !strings.Contains(subject, ":") }

// Layer prefixes of policy subjects.
const (
	tenantPrefix = "tenant:"
	groupPrefix  = "group:"
)

// Vocabulary is every system role, resource and action the system layer
// names (the grants a system role reaches, directly or through g lines),
// sorted, with the anonymous role (which the default policy grants
// nothing) and one resource and one action no policy names, so that
// questions also cover the default deny; and the tenant layer's roles
// (without "tenant:"), resources and actions, and the groups (without
// "group:"), sorted.
type Vocabulary struct {
	Roles, Resources, Actions                   []string
	TenantRoles, TenantResources, TenantActions []string
	Groups                                      []string
}

// Unnamed resource and action that no policy here grants.
const (
	UnknownResource = "reports"
	UnknownAction   = "export_all"
)

// Vocabulary lists what the policy names.
func (p Policy) Vocabulary() (Vocabulary, error) {
	grants, inherits, err := p.Grants()
	if err != nil {
		return Vocabulary{}, err
	}
	v := Vocabulary{Roles: []string{models.AnonymousRole}, Resources: []string{UnknownResource}, Actions: []string{UnknownAction}}
	add := func(list *[]string, s string) {
		if !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	reached := map[string]bool{}
	for role := range inherits {
		if systemRole(role) {
			for _, s := range ancestors(role, inherits) {
				reached[s] = true
				add(&v.Roles, s)
			}
		}
	}
	for _, g := range grants {
		switch {
		case systemRole(g.Role) || reached[g.Role]:
			if systemRole(g.Role) {
				add(&v.Roles, g.Role)
			}
			add(&v.Resources, g.Resource)
			add(&v.Actions, g.Action)
		case strings.HasPrefix(g.Role, tenantPrefix):
			add(&v.TenantRoles, strings.TrimPrefix(g.Role, tenantPrefix))
			add(&v.TenantResources, g.Resource)
			add(&v.TenantActions, g.Action)
		case strings.HasPrefix(g.Role, groupPrefix):
			add(&v.Groups, strings.TrimPrefix(g.Role, groupPrefix))
		}
	}
	for _, l := range [][]string{v.Roles, v.Resources, v.Actions, v.TenantRoles, v.TenantResources, v.TenantActions, v.Groups} {
		slices.Sort(l)
	}
	return v, nil
}

// RepoRoot finds rolegate's checkout from the working directory or a
// parent: the directory holding policy/model.conf and go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 8 {
		if _, err := os.Stat(filepath.Join(dir, "policy", "model.conf")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("policy/model.conf not found above the working directory")
}
