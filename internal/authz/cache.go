package authz

import (
	"regexp"
	"slices"
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
// requests it tells apart. Built from typed fields, a key costs no
// allocation, which is what a warm decision is made of.
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

// cacheable reports whether every function the matcher calls is pure.
func cacheable(matcher string) bool {
	for _, m := range functionCall.FindAllStringSubmatch(stringLiteral.ReplaceAllString(matcher, `""`), -1) {
		if !pureFunctions[m[1]] && !roleFunction.MatchString(m[1]) {
			return false
		}
	}
	return true
}
