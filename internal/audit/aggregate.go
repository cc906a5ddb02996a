package audit

import (
	"encoding/json"
	"sync"

	"github.com/rolegate/rolegate/models"
)

// aggregateKey is what makes occurrences one aggregate: every field of
// the event but its time and request id. The caller keeps the fields
// bounded (no owner ids or usernames from the request); the cap on open
// keys bounds the rest, such as client addresses.
type aggregateKey struct {
	action, result, actorRole, target, rule, policyVersion, clientIP, route, detail string
	actorID                                                                         int64
}

func keyOf(e models.AuditEvent, route string) aggregateKey {
	return aggregateKey{
		action: e.Action, result: e.Result, actorRole: e.ActorRole, target: e.Target, rule: e.Rule,
		policyVersion: e.PolicyVersion, clientIP: e.ClientIP, route: route, detail: detailKey(e.Detail), actorID: e.ActorID,
	}
}

// detailKey is d in one canonical spelling: JSON sorts map keys.
func detailKey(d map[string]any) string {
	if len(d) == 0 {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "unencodable"
	}
	return string(b)
}

// overflowKey is the bucket of an occurrence that finds every key taken:
// its action, result, target and route, from every client and actor. When
// even those buckets are all taken, the route and target go too, which
// leaves one bucket per action and result.
func overflowKey(e models.AuditEvent, route string, perRoute bool) aggregateKey {
	if !perRoute {
		return aggregateKey{action: e.Action, result: e.Result, detail: "overflow"}
	}
	return aggregateKey{action: e.Action, result: e.Result, target: e.Target, route: route, detail: "overflow"}
}

// overflowEvent is the event that stands for an overflow bucket: it names
// no client, actor or request, since it stands for many.
func overflowEvent(e models.AuditEvent, k aggregateKey) models.AuditEvent {
	detail := map[string]any{"overflow": true}
	if k.route != "" {
		detail["route"] = k.route
	}
	return models.AuditEvent{
		At: e.At, Action: e.Action, Result: e.Result, Target: k.target, PolicyVersion: e.PolicyVersion, Detail: detail,
	}
}

// tallies are the aggregates of the window in progress. Their memory is
// bounded: at most max keys, then at most max per-route overflow buckets,
// then one bucket per action and result.
type tallies struct {
	mu       sync.Mutex
	max      int
	open     map[aggregateKey]*models.AuditEvent
	overflow map[aggregateKey]*models.AuditEvent
}

func newTallies(max int) *tallies {
	return &tallies{max: max, open: map[aggregateKey]*models.AuditEvent{}, overflow: map[aggregateKey]*models.AuditEvent{}}
}

// add counts e. It reports whether e opened an aggregate (the first of
// its kind in this window), and whether it went to an overflow bucket.
func (t *tallies) add(e models.AuditEvent, route string) (first, overflowed bool) {
	k := keyOf(e, route)
	t.mu.Lock()
	defer t.mu.Unlock()
	if a, ok := t.open[k]; ok {
		count(a, e)
		return false, false
	}
	if len(t.open) < t.max {
		e.Count, e.FirstAt = 1, e.At
		t.open[k] = &e
		return true, false
	}
	k = overflowKey(e, route, true)
	if _, ok := t.overflow[k]; !ok && len(t.overflow) >= t.max {
		k = overflowKey(e, route, false)
	}
	if a, ok := t.overflow[k]; ok {
		count(a, e)
		return false, true
	}
	o := overflowEvent(e, k)
	o.Count, o.FirstAt = 1, e.At
	t.overflow[k] = &o
	return true, true
}

// count adds occurrence e to aggregate a. Concurrent callers may bring
// their times slightly out of order, so the window is widened either way.
func count(a *models.AuditEvent, e models.AuditEvent) {
	a.Count++
	if e.At.After(a.At) {
		a.At = e.At
	}
	if e.At.Before(a.FirstAt) {
		a.FirstAt = e.At
	}
}

// take returns every aggregate and starts the next window empty.
func (t *tallies) take() []models.AuditEvent {
	t.mu.Lock()
	open, overflow := t.open, t.overflow
	if len(open) == 0 && len(overflow) == 0 {
		t.mu.Unlock()
		return nil
	}
	t.open, t.overflow = map[aggregateKey]*models.AuditEvent{}, map[aggregateKey]*models.AuditEvent{}
	t.mu.Unlock()
	out := make([]models.AuditEvent, 0, len(open)+len(overflow))
	for _, m := range []map[aggregateKey]*models.AuditEvent{open, overflow} {
		for _, a := range m {
			out = append(out, *a)
		}
	}
	return out
}
