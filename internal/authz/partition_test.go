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

const propertyModel = `[request_definition]
r = sub, sub_id, obj, owner_id, act
[policy_definition]
p = sub, obj, act, scope
[role_definition]
g = _, _
%s
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = %s
`

const shippedMatcher = `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act && (p.scope == "any" || (p.scope == "own" && r.sub_id != "" && r.sub_id == r.owner_id))`

// modelWith returns a model with matcher m, and with resource groups (a
// g2 role definition) when groups is set.
func modelWith(groups bool, m string) string {
	g2 := ""
	if groups {
		g2 = "g2 = _, _"
	}
	return fmt.Sprintf(propertyModel, g2, m)
}

// propertyModel is a model Decide must agree with plain Casbin on, with
// whether the policy may be partitioned by resource type, and whether it
// has resource groups (g2 lines).
type propertyCase struct {
	name                string
	model               string
	partitioned, groups bool
}

func propertyModels(t *testing.T) []propertyCase {
	t.Helper()
	shippedFile, err := os.ReadFile("../../policy/model.conf")
	if err != nil {
		t.Fatal(err)
	}
	return []propertyCase{
		{"shipped model.conf", string(shippedFile), true, true},
		{"obj equality", modelWith(false, shippedMatcher), true, false},
		{"obj term first", modelWith(false, `p.obj == r.obj && g(r.sub, p.sub) && r.act == p.act && (p.scope == "any" || r.sub_id == r.owner_id && r.sub_id != "")`), true, false},
		{"top-level or", modelWith(false, `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act || r.sub == "root"`), false, false},
		{"obj only inside parentheses", modelWith(false, `g(r.sub, p.sub) && (r.obj == p.obj || p.scope == "any") && r.act == p.act`), false, false},
		{"deny override", strings.Replace(modelWith(false, shippedMatcher), "some(where (p.eft == allow))", "!some(where (p.eft == deny))", 1), false, false},
		{"resource groups, g2 term last", modelWith(true, `g(r.sub, p.sub) && r.act == p.act && (p.scope == "any" || r.sub_id == r.owner_id && r.sub_id != "") && g2( r.obj , p.obj )`), true, true},
		{"resource groups with obj equality", modelWith(true, `g(r.sub, p.sub) && g2(r.obj, p.obj) && r.obj == p.obj && r.act == p.act`), true, true},
		{"resource groups inside a disjunction", modelWith(true, `g(r.sub, p.sub) && (g2(r.obj, p.obj) || p.scope == "any") && r.act == p.act`), false, true},
		{"resource groups the other way round", modelWith(true, `g(r.sub, p.sub) && g2(p.obj, r.obj) && r.act == p.act`), false, true},
		{"subject equality", modelWith(true, `r.sub == p.sub && g2(r.obj, p.obj) && r.act == p.act`), true, true},
		{"inheritance the other way round", modelWith(true, `g(p.sub, r.sub) && g2(r.obj, p.obj) && r.act == p.act`), true, true},
		{"an id read otherwise than compared", modelWith(false, `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act && (p.scope == "any" || p.scope == "own" && r.sub_id != "" && r.owner_id == "2")`), true, false},
		{"subject inheritance inside a disjunction", modelWith(true, `(g(r.sub, p.sub) || p.scope == "any") && g2(r.obj, p.obj) && r.act == p.act`), true, true},
	}
}

// TestPartitionedDecisionsMatchCasbin is the property test of partition.go
// and of Decide's layers: on random policies (with subjects of every layer,
// and resource groups where the model has them) and random requests
// (with groups and a tenant context or not), Decide gives the decision,
// rule and layer of plain casbin.Enforcer asked about each of the
// subject's layers in turn, the first allow deciding.
func TestPartitionedDecisionsMatchCasbin(t *testing.T) {
	for _, pm := range propertyModels(t) {
		t.Run(pm.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(pm.name))))
			for i := range 40 {
				policy := randomPolicy(rng, pm.groups)
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
					sub, res, act := randomRequest(rng, pm.groups)
					d, err := p.Decide(sub, res, act)
					if err != nil {
						t.Fatalf("decide: %v", err)
					}
					// The second answer comes from the decision cache.
					if again, err := p.Decide(sub, res, act); err != nil || again.Allowed != d.Allowed || !slices.Equal(again.Rule, d.Rule) || again.Via != d.Via {
						t.Fatalf("policy %d, request %+v %v %s: decided %v %v %s, then %v %v %s, %v", i, sub, res, act, d.Allowed, d.Rule, d.Via, again.Allowed, again.Rule, again.Via, err)
					}
					ok, rule, via := plainDecide(t, plain, sub, res, act)
					if d.Allowed != ok || !slices.Equal(d.Rule, rule) || d.Via != via {
						t.Fatalf("policy %d, request %+v (tenant %+v) %v %s: got %v %v via %q, plain casbin says %v %v via %q\n%s",
							i, sub, sub.Tenant, res, act, d.Allowed, d.Rule, d.Via, ok, rule, via, policy)
					}
				}
			}
		})
	}
}

// plainDecide asks plain Casbin about each layer of sub in the order the
// design gives (system role, each group, and inside a tenant the tenant
// role, then break-glass), skipping the layers sub does not have. The
// first allow decides.
func plainDecide(t *testing.T, e *casbin.Enforcer, sub models.Subject, res models.Resource, act string) (bool, []string, string) {
	t.Helper()
	type asked struct{ name, via string }
	layers := []asked{{sub.Role, models.ViaRole}}
	for _, g := range sub.Groups {
		layers = append(layers, asked{"group:" + g, models.ViaGroup})
	}
	if sub.Tenant != nil {
		layers = append(layers, asked{"tenant:" + sub.Tenant.Role, models.ViaMembership}, asked{"break_glass:" + sub.Tenant.BreakGlass, models.ViaBreakGlass})
	}
	for _, l := range layers {
		if l.name == "" || strings.HasSuffix(l.name, ":") {
			continue // the caller has no such layer
		}
		ok, rule, err := e.EnforceEx(l.name, idString(sub.ID), res.Type, idString(res.OwnerID), act)
		if err != nil {
			t.Fatalf("casbin: %v", err)
		}
		if ok {
			return true, rule, l.via
		}
	}
	return false, nil, ""
}

var (
	propRoles    = []string{"a", "b", "c", "d", "root", "anonymous"}
	propSubjects = append(slices.Clone(propRoles), "group:ga", "group:gb", "tenant:ta", "tenant:tb", "break_glass:read", "break_glass:write")
	propObjs     = []string{"o0", "o1", "o2", "o3", "o4", "o5"}
	propGroups   = []string{"grp1", "grp2"} // resource groups
	propActions  = []string{"x", "y", "z"}
)

// randomPolicy returns 0 to 40 grants over propSubjects, propObjs (and
// resource groups) and propActions, some repeated, up to 5 g rules
// between subjects, cycles and all, and with groups up to 6 g2 rules
// between resources and resource groups, chains and cycles included.
func randomPolicy(rng *rand.Rand, groups bool) string {
	objs := propObjs
	if groups {
		objs = append(slices.Clone(propObjs), propGroups...)
	}
	var b strings.Builder
	for range rng.IntN(41) {
		scope := "any"
		if rng.IntN(2) == 0 {
			scope = "own"
		}
		fmt.Fprintf(&b, "p, %s, %s, %s, %s\n", pick(rng, propSubjects), pick(rng, objs), pick(rng, propActions), scope)
	}
	for range rng.IntN(6) {
		fmt.Fprintf(&b, "g, %s, %s\n", pick(rng, propSubjects), pick(rng, propSubjects))
	}
	if groups {
		for range rng.IntN(7) {
			fmt.Fprintf(&b, "g2, %s, %s\n", pick(rng, objs), pick(rng, objs))
		}
	}
	return b.String()
}

// randomRequest draws from the policy's names and a few it never uses:
// a system role, 0 to 2 groups, and a tenant context or none.
func randomRequest(rng *rand.Rand, groups bool) (models.Subject, models.Resource, string) {
	sub := models.Subject{ID: int64(rng.IntN(5)), Role: pick(rng, append(slices.Clone(propRoles), "nobody"))}
	for range rng.IntN(3) {
		sub.Groups = append(sub.Groups, pick(rng, []string{"ga", "gb", "gc"}))
	}
	if rng.IntN(2) == 0 {
		sub.Tenant = &models.TenantContext{TenantID: 1, Role: pick(rng, []string{"", "ta", "tb", "tc"}), BreakGlass: pick(rng, []string{"", "read", "write"})}
	}
	objs := append(slices.Clone(propObjs), "o6", "")
	if groups {
		objs = append(objs, propGroups...)
	}
	res := models.Resource{Type: pick(rng, objs), OwnerID: int64(rng.IntN(5))}
	return sub, res, pick(rng, append(slices.Clone(propActions), "w"))
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

// TestIDsOnlyCompared lists matchers (as Casbin holds them, r.x written
// r_x) whose decisions depend on the ids only through how they relate,
// and matchers that read them otherwise, which keep one cache entry per
// pair of ids.
func TestIDsOnlyCompared(t *testing.T) {
	for matcher, want := range map[string]bool{
		`g(r_sub, p_sub) && g2(r_obj, p_obj) && r_act == p_act && (p_scope == "any" || (p_scope == "own" && r_sub_id != "" && r_sub_id == r_owner_id))`: true,
		`g(r_sub, p_sub) && r_act == p_act`:                              true,
		`(r_owner_id == r_sub_id || p_scope == "any") && "" != r_sub_id`: true,
		`r_sub_id == r_owner_id+"x" && r_act == p_act`:                   false,
		`r_act == p_act && "x"+r_sub_id == r_owner_id`:                   false,
		`r_sub_id == "42" && r_act == p_act`:                             false,
		`regexMatch(r_owner_id, "^1") && r_sub_id == r_owner_id`:         false,
		`eval(p_rule) && r_sub_id == r_owner_id`:                         false,
		`r_sub_id != "" && r_owner_id > r_sub_id`:                        false,
		`r_sub_id == r_owner_idx`:                                        false,
	} {
		if got := idsOnlyCompared(matcher); got != want {
			t.Errorf("idsOnlyCompared(%q): got %v, want %v", matcher, got, want)
		}
	}
}

// TestOneOwnDecisionForEveryUser pins what makes a cold token's first
// request cheap with the shipped policy: once one user has read their own
// profile, another user's own profile, and someone else's, are answered
// from the cache without a Casbin evaluation (no entry is added).
func TestOneOwnDecisionForEveryUser(t *testing.T) {
	src, err := ReadSource("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	if !p.idRelation {
		t.Fatal("the shipped matcher: got ids keyed one by one, want keyed by their relation")
	}
	ask := func(id, owner int64) bool {
		t.Helper()
		d, err := p.Decide(models.Subject{ID: id, Role: "user"}, models.Resource{Type: models.ResourceUsers, OwnerID: owner}, models.ActionRead)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	if !ask(7, 7) || ask(7, 8) {
		t.Fatal("user 7: got the wrong answers about their own and user 8's profile")
	}
	before := p.decisions.cur.Load().n.Load()
	if !ask(1_000_001, 1_000_001) || ask(1_000_001, 3) || ask(9, 1_000_001) {
		t.Error("other users: got the wrong answers")
	}
	if after := p.decisions.cur.Load().n.Load(); after != before {
		t.Errorf("cache entries: got %d after other users asked, want %d (the same relations)", after, before)
	}
}

func TestDecisionCacheIsBounded(t *testing.T) {
	c := newDecisionCache()
	for i := range MaxCachedDecisions + 5 {
		c.put(decisionKey{name: "r", subjectID: int64(i)}, true, []string{"r"})
	}
	if n := c.cur.Load().n.Load(); n != 5 {
		t.Errorf("after %d puts: got %d entries counted, want 5 (a full cache starts over)", MaxCachedDecisions+5, n)
	}
	if _, _, hit := c.get(decisionKey{name: "r", subjectID: 0}); hit {
		t.Error("an entry from before the cache started over: got a hit, want none")
	}
	ok, rule, hit := c.get(decisionKey{name: "r", subjectID: MaxCachedDecisions + 4})
	if !hit || !ok || !slices.Equal(rule, []string{"r"}) {
		t.Errorf("the newest entry: got %v %v %v, want a hit allowing by [r]", hit, ok, rule)
	}
	rule[0] = "changed"
	if _, again, _ := c.get(decisionKey{name: "r", subjectID: MaxCachedDecisions + 4}); again[0] != "r" {
		t.Errorf("after changing a returned rule: got %v, want [r]", again)
	}
}

// TestPartitionsAdmitOnlySubjectsThatCanMatch pins what makes a tenant
// member's question cheap with the shipped policy: the partition of a
// record resource admits the subjects its rules name and those that
// inherit them, and no other, so that asking the member's system role
// first costs no Casbin evaluation.
func TestPartitionsAdmitOnlySubjectsThatCanMatch(t *testing.T) {
	src, err := ReadSource("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	pt := p.byObj["customers"]
	if pt == nil {
		t.Fatal("the shipped policy has no partition for customers")
	}
	for subject, want := range map[string]bool{
		"tenant:user": true, "tenant:readonly": true, "admin": true, "break_glass:read": true, "break_glass:write": true,
		"user": false, "staff": false, "group:support": false, "tenant:billing": false, "anonymous": false,
	} {
		if got := pt.admits(subject); got != want {
			t.Errorf("customers admits %s: got %v, want %v", subject, got, want)
		}
	}
}
