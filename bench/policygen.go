// Package bench holds rolegate's micro-benchmarks and the tools of its load
// test (bench/load.sh). The benchmarks are in the _test.go files; run them
// with go test -run='^$' -bench=. ./bench/.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Roles is how many roles a generated policy grants to; two more inherit
// from them through g lines.
const Roles = 10

// Actions are the actions a generated policy grants.
var Actions = []string{"read", "list", "create", "update", "delete"}

// SyntheticPolicy returns a policy.csv with rules grants spread over
// rules/10 resource types (res0, res1, ...): each type has ten grants, one
// per role, alternating scopes any and own, and the roles "lead" and
// "chief" inherit role0 and lead through g lines.
func SyntheticPolicy(rules int) string {
	var b strings.Builder
	for i := range rules {
		typ, role := i/Roles, i%Roles
		scope := "any"
		if role%2 == 1 {
			scope = "own"
		}
		fmt.Fprintf(&b, "p, role%d, res%d, %s, %s\n", role, typ, Actions[role%len(Actions)], scope)
	}
	b.WriteString("g, lead, role0\ng, chief, lead\n")
	return b.String()
}

// LastResource is the resource type of the last grants of a policy of rules
// grants: the one a linear scan reaches last.
func LastResource(rules int) string { return fmt.Sprintf("res%d", (rules-1)/Roles) }

// ModelFile finds policy/model.conf from the working directory or a parent,
// so that benchmarks and tools use the shipped model.
func ModelFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 6 {
		p := filepath.Join(dir, "policy", "model.conf")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("policy/model.conf not found above the working directory")
}
