package authz

import (
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// A plain Casbin enforcer evaluates the matcher against every p rule, so a
// decision costs time in proportion to the whole policy. When the model
// makes that pointless, Compile also builds one small enforcer per
// resource type (partition), and Decide asks only the one for the
// request's type. Casbin still decides, with the same model, the same
// rules in the same order and every g rule, so the decision and the rule
// EnforceEx reports are the plain enforcer's:
//
//   - the matcher is a conjunction one of whose terms is r.obj == p.obj, so
//     a rule can match only requests for its own resource type;
//   - the effect is some(where (p.eft == allow)), so the first matching
//     rule decides and a request that matches no rule is denied; under any
//     other effect (deny-override, priority) an empty match set can allow,
//     and Decide keeps the single enforcer.
//
// The property test in partition_test.go checks this against plain
// casbin.Enforcer on random policies and requests.

// maxPartitionGRules bounds the g rules copied into all partitions (every
// partition needs every role link), so that a policy with many roles and
// many resource types falls back to one enforcer instead of using
// quadratic memory.
const maxPartitionGRules = 2_000_000

// partitions returns one enforcer per resource type of rules, or nil when
// the model does not allow partitioning (or it would not pay).
func partitions(modelText string, m model.Model, rules []rule) (map[string]*casbin.Enforcer, error) {
	objIndex, ok := partitionKey(m)
	if !ok {
		return nil, nil
	}
	byObj := map[string][]rule{}
	var order []string
	var grules []rule
	for _, r := range rules {
		switch {
		case r.sec == "g":
			grules = append(grules, r)
		case r.ptype == "p":
			obj := r.vals[objIndex]
			if _, seen := byObj[obj]; !seen {
				order = append(order, obj)
			}
			byObj[obj] = append(byObj[obj], r)
		default:
			return nil, nil
		}
	}
	if len(order) < 2 || len(order)*len(grules) > maxPartitionGRules {
		return nil, nil
	}
	out := make(map[string]*casbin.Enforcer, len(order))
	for _, obj := range order {
		pm, err := model.NewModelFromString(modelText)
		if err != nil {
			return nil, err
		}
		e, err := casbin.NewEnforcer(pm, staticAdapter(append(byObj[obj], grules...)))
		if err != nil {
			return nil, err
		}
		out[obj] = e
	}
	return out, nil
}

// partitionKey returns the position of obj among the p rule's fields when
// the model lets decisions be partitioned by resource type.
func partitionKey(m model.Model) (int, bool) {
	if len(m["p"]) != 1 || len(m["m"]) != 1 || len(m["e"]) != 1 {
		return 0, false
	}
	p, ok := m["p"]["p"]
	if !ok || m["m"]["m"] == nil || m["e"]["e"] == nil {
		return 0, false
	}
	if normalize(m["e"]["e"].Value) != "some(where(p_eft==allow))" {
		return 0, false
	}
	objIndex := -1
	for i, t := range p.Tokens {
		if t == "p_obj" {
			objIndex = i
		}
	}
	if objIndex < 0 {
		return 0, false
	}
	terms, ok := conjuncts(m["m"]["m"].Value)
	if !ok {
		return 0, false
	}
	for _, t := range terms {
		if t := normalize(t); t == "r_obj==p_obj" || t == "p_obj==r_obj" {
			return objIndex, true
		}
	}
	return 0, false
}

// normalize drops white space and writes attributes as Casbin's escaped
// form (r_obj) whichever way the model file spelled them.
func normalize(s string) string {
	s = strings.Join(strings.Fields(s), "")
	return strings.NewReplacer("r.", "r_", "p.", "p_").Replace(s)
}

// conjuncts splits a matcher at its top-level && operators. It reports
// false when the top level holds anything that binds more loosely than
// && (||, the ternary ?: and ??), since then a term is not required.
func conjuncts(expr string) ([]string, bool) {
	var terms []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case depth > 0:
		case c == '|' || c == '?' || c == ':':
			return nil, false
		case c == '&' && i+1 < len(expr) && expr[i+1] == '&':
			terms = append(terms, expr[start:i])
			start = i + 2
			i++
		}
	}
	if quote != 0 || depth != 0 {
		return nil, false
	}
	return append(terms, expr[start:]), true
}
