package authz

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	fileadapter "github.com/casbin/casbin/v2/persist/file-adapter"

	"github.com/rolegate/rolegate/models"
)

const shippedModel = `[request_definition]
r = sub, sub_id, obj, owner_id, act
[policy_definition]
p = sub, obj, act, scope
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = %s
`

const shippedMatcher = `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act && (p.scope == "any" || (p.scope == "own" && r.sub_id != "" && r.sub_id == r.owner_id))`

// propertyModels are models Decide must agree with plain Casbin on, with
// whether the policy may be partitioned by resource type.
var propertyModels = []struct {
	name        string
	model       string
	partitioned bool
}{
	{"shipped", fmt.Sprintf(shippedModel, shippedMatcher), true},
	{"obj term first", fmt.Sprintf(shippedModel, `p.obj == r.obj && g(r.sub, p.sub) && r.act == p.act && (p.scope == "any" || r.sub_id == r.owner_id && r.sub_id != "")`), true},
	{"top-level or", fmt.Sprintf(shippedModel, `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act || r.sub == "root"`), false},
	{"obj only inside parentheses", fmt.Sprintf(shippedModel, `g(r.sub, p.sub) && (r.obj == p.obj || p.scope == "any") && r.act == p.act`), false},
	{"deny override", strings.Replace(fmt.Sprintf(shippedModel, shippedMatcher), "some(where (p.eft == allow))", "!some(where (p.eft == deny))", 1), false},
}

// TestPartitionedDecisionsMatchCasbin is the property test of partition.go:
// on random policies and random requests, Decide gives plain
// casbin.Enforcer's decision and rule.
func TestPartitionedDecisionsMatchCasbin(t *testing.T) {
	for _, pm := range propertyModels {
		t.Run(pm.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(pm.name))))
			for i := range 60 {
				policy := randomPolicy(rng)
				p, err := Compile(Source{ModelFile: "model.conf", PolicyFile: "policy.csv", Model: []byte(pm.model), Policy: []byte(policy)})
				if err != nil {
					t.Fatalf("policy %d: compile: %v\n%s", i, err, policy)
				}
				if got := p.byObj != nil; got != pm.partitioned && strings.Count(policy, "p,") > 0 {
					// A policy whose rules all name one type is not worth partitioning.
					if !(pm.partitioned && len(objsOf(policy)) < 2) {
						t.Fatalf("policy %d: partitioned %v, want %v", i, got, pm.partitioned)
					}
				}
				plain := plainEnforcer(t, pm.model, policy)
				for range 150 {
					sub, res, act := randomRequest(rng)
					d, err := p.Decide(sub, res, act)
					if err != nil {
						t.Fatalf("decide: %v", err)
					}
					// The second answer comes from the decision cache.
					if again, err := p.Decide(sub, res, act); err != nil || again.Allowed != d.Allowed || !slices.Equal(again.Rule, d.Rule) {
						t.Fatalf("policy %d, request %v %v %s: decided %v %v, then %v %v, %v", i, sub, res, act, d.Allowed, d.Rule, again.Allowed, again.Rule, err)
					}
					ok, rule, err := plain.EnforceEx(sub.Role, idString(sub.ID), res.Type, idString(res.OwnerID), act)
					if err != nil {
						t.Fatalf("casbin: %v", err)
					}
					if !ok {
						rule = nil
					}
					if d.Allowed != ok || !slices.Equal(d.Rule, rule) {
						t.Fatalf("policy %d, request %v %v %s: got %v %v, plain casbin says %v %v\n%s", i, sub, res, act, d.Allowed, d.Rule, ok, rule, policy)
					}
				}
			}
		})
	}
}

var (
	propRoles   = []string{"a", "b", "c", "d", "root", "anonymous"}
	propObjs    = []string{"o0", "o1", "o2", "o3", "o4", "o5"}
	propActions = []string{"x", "y", "z"}
)

// randomPolicy returns 0 to 40 grants over propRoles, propObjs and
// propActions, some repeated, and up to 5 g rules between roles, cycles
// and all.
func randomPolicy(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(41) {
		scope := "any"
		if rng.IntN(2) == 0 {
			scope = "own"
		}
		fmt.Fprintf(&b, "p, %s, %s, %s, %s\n", pick(rng, propRoles), pick(rng, propObjs), pick(rng, propActions), scope)
	}
	for range rng.IntN(6) {
		fmt.Fprintf(&b, "g, %s, %s\n", pick(rng, propRoles), pick(rng, propRoles))
	}
	return b.String()
}

// randomRequest draws from the policy's names and a few it never uses.
func randomRequest(rng *rand.Rand) (models.Subject, models.Resource, string) {
	sub := models.Subject{ID: int64(rng.IntN(3)), Role: pick(rng, append(propRoles, "nobody"))}
	res := models.Resource{Type: pick(rng, append(propObjs, "o6", "")), OwnerID: int64(rng.IntN(3))}
	return sub, res, pick(rng, append(propActions, "w"))
}

func pick(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }

func objsOf(policy string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(policy, "\n") {
		if f := strings.Split(line, ", "); f[0] == "p" {
			out[f[2]] = true
		}
	}
	return out
}

// plainEnforcer is Casbin as its documentation uses it: a model and a
// policy file.
func plainEnforcer(t *testing.T, modelText, policy string) *casbin.Enforcer {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.csv")
	if err := os.WriteFile(file, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m, fileadapter.NewAdapter(file))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConjuncts(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`a && b`, []string{"a ", " b"}},
		{`a && (b || c)`, []string{"a ", " (b || c)"}},
		{`a && "x||y" && c`, []string{"a ", ` "x||y" `, " c"}},
		{`a && b || c`, nil},
		{`a ? b : c`, nil},
		{`a && (b`, nil},
	}
	for _, c := range cases {
		got, ok := conjuncts(c.expr)
		if ok != (c.want != nil) || !slices.Equal(got, c.want) {
			t.Errorf("conjuncts(%q): got %q, %v, want %q", c.expr, got, ok, c.want)
		}
	}
}

func TestCacheableMatchers(t *testing.T) {
	for matcher, want := range map[string]bool{
		shippedMatcher: true,
		`g(r.sub, p.sub) && keyMatch2(r.obj, p.obj) && regexMatch(r.act, p.act)`: true,
		`g2(r.sub, p.sub) && r.obj == "timeMatch(x)"`:                            true,
		`g(r.sub, p.sub) && timeMatch(p.start, p.end)`:                           false,
		`g(r.sub, p.sub) && customFunc(r.obj)`:                                   false,
	} {
		if got := cacheable(matcher); got != want {
			t.Errorf("cacheable(%q): got %v, want %v", matcher, got, want)
		}
	}
}

func TestDecisionCacheIsBounded(t *testing.T) {
	c := newDecisionCache()
	for i := range MaxCachedDecisions + 5 {
		c.put(decisionKey{role: "r", subjectID: int64(i)}, true, []string{"r"})
	}
	if n := c.cur.Load().n.Load(); n != 5 {
		t.Errorf("after %d puts: got %d entries counted, want 5 (a full cache starts over)", MaxCachedDecisions+5, n)
	}
	if _, _, hit := c.get(decisionKey{role: "r", subjectID: 0}); hit {
		t.Error("an entry from before the cache started over: got a hit, want none")
	}
	ok, rule, hit := c.get(decisionKey{role: "r", subjectID: MaxCachedDecisions + 4})
	if !hit || !ok || !slices.Equal(rule, []string{"r"}) {
		t.Errorf("the newest entry: got %v %v %v, want a hit allowing by [r]", hit, ok, rule)
	}
	rule[0] = "changed"
	if _, again, _ := c.get(decisionKey{role: "r", subjectID: MaxCachedDecisions + 4}); again[0] != "r" {
		t.Errorf("after changing a returned rule: got %v, want [r]", again)
	}
}
