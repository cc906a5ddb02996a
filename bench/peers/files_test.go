package peers

import (
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite policy/data.json and policy/cerbos/ from policy/policy.csv")

// TestPolicyFilesUpToDate checks that the translations checked in for
// readers, policy/data.json (OPA's data) and policy/cerbos/*.yaml, are
// what the run derives from the shipped policy.csv. go test -update
// rewrites them.
func TestPolicyFilesUpToDate(t *testing.T) {
	modelFile, policyFile, regoFile := paths(t)
	p, err := LoadPolicy(modelFile, policyFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(regoFile)
	data, err := p.OPAData(Directory{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	b, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want["data.json"] = string(b) + "\n"
	cerbos, err := p.CerbosPolicies()
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range cerbos {
		want[filepath.Join("cerbos", name)] = text
	}
	if *update {
		os.RemoveAll(filepath.Join(dir, "cerbos"))
		if err := os.MkdirAll(filepath.Join(dir, "cerbos"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, text := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%v (go test -update writes it)", err)
			continue
		}
		if string(got) != text {
			t.Errorf("%s is not what policy.csv gives: run go test -update", name)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "cerbos"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := want[filepath.Join("cerbos", e.Name())]; !ok {
			t.Errorf("cerbos/%s is not derived from policy.csv: remove it", e.Name())
		}
	}
}

// TestCerbosPolicyShape checks the translation of scopes and inheritance
// on a small policy: an "own" grant carries the ownership condition, and
// a role that inherits another is granted what it is; a group's grant goes
// to a derived role, defined in a file of its own.
func TestCerbosPolicyShape(t *testing.T) {
	modelFile, _, _ := paths(t)
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.csv")
	if err := os.WriteFile(policyFile, []byte("p, user, users, read, own\np, staff, users, list, any\ng, chief, staff\np, group:support, users, read, any\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(modelFile, policyFile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.CerbosPolicies()
	if err != nil {
		t.Fatal(err)
	}
	text := got["users.yaml"]
	for _, want := range []string{
		`importDerivedRoles: ["rolegate_layers"]`,
		`- actions: ["read"]` + "\n      effect: EFFECT_ALLOW\n      derivedRoles: [\"group_support\"]\n",
		`- actions: ["list"]` + "\n      effect: EFFECT_ALLOW\n      roles: [\"staff\", \"chief\"]\n",
		`- actions: ["read"]` + "\n      effect: EFFECT_ALLOW\n      roles: [\"user\"]\n      condition:\n        match:\n          expr: " + quote(ownCondition) + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("users.yaml:\n%s\nwant it to contain:\n%s", text, want)
		}
	}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, []string{"rolegate_layers.yaml", "users.yaml"}) {
		t.Errorf("got files %v, want [rolegate_layers.yaml users.yaml]", names)
	}
	if want := `- name: "group_support"`; !strings.Contains(got["rolegate_layers.yaml"], want) {
		t.Errorf("rolegate_layers.yaml:\n%s\nwant it to contain %s", got["rolegate_layers.yaml"], want)
	}
}
