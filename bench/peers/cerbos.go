package peers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CerbosVersion is the Cerbos release bench/peers/cerbos builds: the
// newest that builds with Go 1.26 (v0.56.0 needs Go 1.27.0, v0.57.0 Go
// 1.27.3).
const CerbosVersion = "v0.55.0"

// CerbosAnonymous is the principal id of an anonymous question: Cerbos
// requires one, and no owner id is ever this string.
const CerbosAnonymous = "anonymous"

// ownCondition is scope "own": the caller's id is the object's owner id.
const ownCondition = "has(request.resource.attr.owner_id) && request.resource.attr.owner_id == request.principal.id"

// CerbosPolicies translates the policy into one Cerbos resource policy per
// resource, by file name: a rule per role and scope listing its actions,
// granted to the role and to every role that inherits it through g lines.
func (p Policy) CerbosPolicies() (map[string]string, error) {
	grants, inherits, err := p.Grants()
	if err != nil {
		return nil, err
	}
	v, err := p.Vocabulary()
	if err != nil {
		return nil, err
	}
	type ruleKey struct{ role, scope string }
	byRes := map[string]map[ruleKey][]string{}
	var order []string
	for _, g := range grants {
		if byRes[g.Resource] == nil {
			byRes[g.Resource] = map[ruleKey][]string{}
			order = append(order, g.Resource)
		}
		k := ruleKey{g.Role, g.Scope}
		if !slices.Contains(byRes[g.Resource][k], g.Action) {
			byRes[g.Resource][k] = append(byRes[g.Resource][k], g.Action)
		}
	}
	out := map[string]string{}
	for _, res := range order {
		keys := make([]ruleKey, 0, len(byRes[res]))
		for k := range byRes[res] {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b ruleKey) int { return strings.Compare(a.role+" "+a.scope, b.role+" "+b.scope) })
		var b strings.Builder
		fmt.Fprintf(&b, "# Generated from %s by bench/peers (Policy.CerbosPolicies): rolegate's\n# grants on %q as a Cerbos resource policy. Do not edit.\n", "policy/policy.csv", res)
		fmt.Fprintf(&b, "apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: %s\n  rules:\n", quote(res))
		for _, k := range keys {
			fmt.Fprintf(&b, "    - actions: [%s]\n      effect: EFFECT_ALLOW\n      roles: [%s]\n", quoteAll(byRes[res][k]), quoteAll(heirs(k.role, v.Roles, inherits)))
			if k.scope == "own" {
				fmt.Fprintf(&b, "      condition:\n        match:\n          expr: %s\n", quote(ownCondition))
			}
		}
		out[cerbosFileName(res)] = b.String()
	}
	return out, nil
}

// cerbosFileName names the policy file of resource res: its name, with
// ":" (as in tenant_role:admin), which Windows and Go module zips refuse
// in file names, written as "%3A".
func cerbosFileName(res string) string {
	return strings.ReplaceAll(res, ":", "%3A") + ".yaml"
}

// heirs returns role and every role that inherits it.
func heirs(role string, roles []string, inherits map[string][]string) []string {
	out := []string{role}
	for _, r := range roles {
		if r != role && slices.Contains(ancestors(r, inherits), role) {
			out = append(out, r)
		}
	}
	return out
}

func quote(s string) string { return strconv.Quote(s) }

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}

// CerbosConfig is the Cerbos server's configuration: policies from dir,
// HTTP and gRPC on 127.0.0.1, no audit log, no telemetry.
func CerbosConfig(dir, httpAddr, grpcAddr string) string {
	return fmt.Sprintf(`server:
  httpListenAddr: %q
  grpcListenAddr: %q
storage:
  driver: disk
  disk:
    directory: %q
    watchForChanges: false
audit:
  enabled: false
telemetry:
  disabled: true
`, httpAddr, grpcAddr, dir)
}

// CerbosRequest is a question as the body of Cerbos's CheckResources
// (POST /api/check/resources): the principal's role and id (the string
// "anonymous" for none), the resource kind with the owner as an attribute.
func CerbosRequest(q Question) map[string]any {
	principal := CerbosAnonymous
	if q.UserID != 0 {
		principal = strconv.FormatInt(q.UserID, 10)
	}
	attr := map[string]any{}
	id := "none"
	if q.OwnerID != 0 {
		id = strconv.FormatInt(q.OwnerID, 10)
		attr["owner_id"] = id
	}
	return map[string]any{
		"requestId": "peers",
		"principal": map[string]any{"id": principal, "roles": []string{q.Role}},
		"resources": []any{map[string]any{
			"actions":  []string{q.Action},
			"resource": map[string]any{"kind": q.Resource, "id": id, "attr": attr},
		}},
	}
}
