package authz

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxCachedDecisions bounds a policy's decision cache. A full cache is
// dropped and starts over, which keeps the hot requests (a user's own
// profile, an area) cached and costs at most one Casbin evaluation each.
const MaxCachedDecisions = 50_000

// decisionCache remembers Casbin's answers for one compiled Policy, keyed
// by every request attribute. It belongs to the Policy value, so a reload
// (a new Policy, swapped in atomically) starts with an empty cache and no
// decision outlives the policy that made it. Errors are never cached.
type decisionCache struct {
	cur atomic.Pointer[decisionMap]
}

type decisionMap struct {
	m sync.Map // key -> cachedDecision
	n atomic.Int64
}

type cachedDecision struct {
	allowed bool
	rule    []string
}

func newDecisionCache() *decisionCache {
	c := &decisionCache{}
	c.cur.Store(&decisionMap{})
	return c
}

// decisionKey is every attribute rolegate can give a model, as Decide
// receives them, for one layer of the subject: the layer and the bare
// name stand for the policy subject ("tenant:" + name), which is built
// only on a miss. A model that reads only some of the attributes gets a
// separate entry for requests it would answer alike, never one entry for
// requests it tells apart; the one exception is the ids, which a matcher
// that only compares them keys by their relation (see idRelation). Built
// from typed fields, a key costs no allocation, which is what a warm
// decision is made of.
type decisionKey struct {
	layer                  layer
	name, resource, action string
	subjectID, ownerID     int64
}

func (c *decisionCache) get(key decisionKey) (bool, []string, bool) {
	v, ok := c.cur.Load().m.Load(key)
	if !ok {
		return false, nil, false
	}
	d := v.(cachedDecision)
	return d.allowed, slices.Clone(d.rule), true
}

func (c *decisionCache) put(key decisionKey, allowed bool, rule []string) {
	m := c.cur.Load()
	if m.n.Add(1) > MaxCachedDecisions {
		m = &decisionMap{}
		m.n.Add(1)
		c.cur.Store(m)
	}
	m.m.Store(key, cachedDecision{allowed: allowed, rule: slices.Clone(rule)})
}

// pureFunctions are the matcher functions whose answer depends only on
// their arguments (and on the compiled policy, for g). A matcher calling
// anything else, such as timeMatch, which reads the clock, is not cached.
var pureFunctions = map[string]bool{
	"keyMatch": true, "keyMatch2": true, "keyMatch3": true, "keyMatch4": true, "keyMatch5": true,
	"keyGet": true, "keyGet2": true, "keyGet3": true, "regexMatch": true, "ipMatch": true, "globMatch": true,
	"eval": true,
}

var (
	functionCall = regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	roleFunction = regexp.MustCompile(`^g[0-9]*$`)
)

// idTest is one way a matcher may look at the two ids that depends only
// on how they relate: whether the caller is the owner, and whether either
// is missing ("" for none).
var idTest = regexp.MustCompile(`\br_sub_id\s*==\s*r_owner_id\b|\br_owner_id\s*==\s*r_sub_id\b|\br_(?:sub|owner)_id\s*[!=]=\s*""|""\s*[!=]=\s*r_(?:sub|owner)_id\b`)

var idName = regexp.MustCompile(`\br_(?:sub|owner)_id\b`)

// idsOnlyCompared reports whether the matcher reads the subject's and the
// owner's ids only through idTest's comparisons, each a whole operand of
// && or || (or of parentheses), and calls no eval, whose policy-line
// expressions could read them otherwise. Such a matcher answers every
// pair of ids with the same relation alike, so a decision about one
// user's own profile is the decision about every user's.
func idsOnlyCompared(matcher string) bool {
	if strings.Contains(matcher, "eval(") {
		return false
	}
	var rest strings.Builder
	last := 0
	for _, loc := range idTest.FindAllStringIndex(matcher, -1) {
		if !operandBoundary(strings.TrimRight(matcher[:loc[0]], " \t"), true) ||
			!operandBoundary(strings.TrimLeft(matcher[loc[1]:], " \t"), false) {
			return false
		}
		rest.WriteString(matcher[last:loc[0]])
		rest.WriteString("true")
		last = loc[1]
	}
	rest.WriteString(matcher[last:])
	return !idName.MatchString(rest.String())
}

// operandBoundary reports whether s, the matcher text before (or after) a
// comparison, ends (or starts) where an operand of && or || does.
func operandBoundary(s string, before bool) bool {
	if s == "" {
		return true
	}
	if before {
		return strings.HasSuffix(s, "(") || strings.HasSuffix(s, "&&") || strings.HasSuffix(s, "||")
	}
	return strings.HasPrefix(s, ")") || strings.HasPrefix(s, "&&") || strings.HasPrefix(s, "||")
}

// idRelation stands for a subject and owner id pair by how they relate,
// with the same answers to every idTest comparison: 0 for a missing id,
// the subject 1, and the owner 1 when it is the subject and 2 otherwise.
func idRelation(subjectID, ownerID int64) (int64, int64) {
	var sub, owner int64
	if subjectID > 0 {
		sub = 1
	}
	switch {
	case ownerID <= 0:
		owner = 0
	case ownerID == subjectID:
		owner = 1
	default:
		owner = 2
	}
	return sub, owner
}

// cacheable reports whether every function the matcher calls is pure.
func cacheable(matcher string) bool {
	for _, m := range functionCall.FindAllStringSubmatch(stringLiteral.ReplaceAllString(matcher, `""`), -1) {
		if !pureFunctions[m[1]] && !roleFunction.MatchString(m[1]) {
			return false
		}
	}
	return true
}
