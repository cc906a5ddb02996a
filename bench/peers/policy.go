package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

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

// Grants returns the policy's p lines, in file order, and its g lines as
// a map from a role to the roles it inherits directly.
func (p Policy) Grants() ([]Grant, map[string][]string, error) {
	var grants []Grant
	inherits := map[string][]string{}
	for _, r := range p.Rolegate.Rules() {
		switch {
		case r[0] == "p" && len(r) == 5:
			grants = append(grants, Grant{Role: r[1], Resource: r[2], Action: r[3], Scope: r[4]})
		case r[0] == "g" && len(r) == 3:
			inherits[r[1]] = append(inherits[r[1]], r[2])
		default:
			return nil, nil, fmt.Errorf("rule %v: only p (role, resource, action, scope) and g (role, role) rules translate", r)
		}
	}
	for _, g := range grants {
		if g.Scope != "any" && g.Scope != "own" {
			return nil, nil, fmt.Errorf("grant %v: scope must be any or own", g)
		}
	}
	return grants, inherits, nil
}

// Vocabulary is every role, resource and action a policy names, sorted,
// with the anonymous role (which the default policy grants nothing) and
// one resource and one action it does not name, so that questions also
// cover the default deny.
type Vocabulary struct {
	Roles, Resources, Actions []string
}

// Unnamed resource and action that no policy here grants.
const (
	UnknownResource = "reports"
	UnknownAction   = "export"
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
	for _, g := range grants {
		add(&v.Roles, g.Role)
		add(&v.Resources, g.Resource)
		add(&v.Actions, g.Action)
	}
	for role, parents := range inherits {
		add(&v.Roles, role)
		for _, r := range parents {
			add(&v.Roles, r)
		}
	}
	slices.Sort(v.Roles)
	slices.Sort(v.Resources)
	slices.Sort(v.Actions)
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
