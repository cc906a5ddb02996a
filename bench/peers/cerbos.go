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

// CerbosDerivedRoles names the derived roles file of the layers.
const CerbosDerivedRoles = "rolegate_layers"

// CerbosPolicies translates the policy into one Cerbos resource policy per
// resource, by file name: a rule per subject and scope listing its
// actions, granted to the subject and to every subject that inherits it
// through g lines. A system role is a Cerbos role; the other layers'
// subjects are derived roles (cerbosDerived), in a file of their own.
func (p Policy) CerbosPolicies() (map[string]string, error) {
	grants, inherits, err := p.Grants()
	if err != nil {
		return nil, err
	}
	type ruleKey struct{ role, scope string }
	byRes := map[string]map[ruleKey][]string{}
	var order, subjects []string
	for _, g := range grants {
		if byRes[g.Resource] == nil {
			byRes[g.Resource] = map[ruleKey][]string{}
			order = append(order, g.Resource)
		}
		k := ruleKey{g.Role, g.Scope}
		if !slices.Contains(byRes[g.Resource][k], g.Action) {
			byRes[g.Resource][k] = append(byRes[g.Resource][k], g.Action)
		}
		if !slices.Contains(subjects, g.Role) {
			subjects = append(subjects, g.Role)
		}
	}
	for s := range inherits {
		if !slices.Contains(subjects, s) {
			subjects = append(subjects, s)
		}
	}
	slices.Sort(subjects)
	out := map[string]string{}
	var derived []string
	for _, res := range order {
		keys := make([]ruleKey, 0, len(byRes[res]))
		for k := range byRes[res] {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b ruleKey) int { return strings.Compare(a.role+" "+a.scope, b.role+" "+b.scope) })
		var rules strings.Builder
		imports := false
		for _, k := range keys {
			var roles, layered []string
			for _, h := range heirs(k.role, subjects, inherits) {
				if systemRole(h) {
					roles = append(roles, h)
				} else if name, _ := cerbosDerived(h); name != "" {
					layered = append(layered, name)
					if !slices.Contains(derived, h) {
						derived = append(derived, h)
					}
				}
			}
			for _, r := range []struct {
				field string
				names []string
			}{{"roles", roles}, {"derivedRoles", layered}} {
				if len(r.names) == 0 {
					continue
				}
				imports = imports || r.field == "derivedRoles"
				fmt.Fprintf(&rules, "    - actions: [%s]\n      effect: EFFECT_ALLOW\n      %s: [%s]\n", quoteAll(byRes[res][k]), r.field, quoteAll(r.names))
				if k.scope == "own" {
					fmt.Fprintf(&rules, "      condition:\n        match:\n          expr: %s\n", quote(ownCondition))
				}
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# Generated from %s by bench/peers (Policy.CerbosPolicies): rolegate's\n# grants on %q as a Cerbos resource policy. Do not edit.\n", "policy/policy.csv", res)
		fmt.Fprintf(&b, "apiVersion: api.cerbos.dev/v1\nresourcePolicy:\n  version: default\n  resource: %s\n", quote(res))
		if imports {
			fmt.Fprintf(&b, "  importDerivedRoles: [%s]\n", quote(CerbosDerivedRoles))
		}
		b.WriteString("  rules:\n" + rules.String())
		out[cerbosFileName(res)] = b.String()
	}
	if len(derived) > 0 {
		slices.Sort(derived)
		out[CerbosDerivedRoles+".yaml"] = cerbosDerivedRoles(derived)
	}
	return out, nil
}

// cerbosDerived is the derived role a layer's subject is, and the
// condition that gives it: "tenant:<role>" is the principal's
// tenant_role attribute in a resource whose tenant is active
// (tenant_active), "group:<name>" a name among its groups attribute.
// Break-glass subjects, which the questions never carry, have none.
func cerbosDerived(subject string) (name, condition string) {
	if r, ok := strings.CutPrefix(subject, tenantPrefix); ok {
		return "tenant_" + r, fmt.Sprintf("has(request.principal.attr.tenant_role) && request.principal.attr.tenant_role == %s && has(request.resource.attr.tenant_active) && request.resource.attr.tenant_active == true", quote(r))
	}
	if g, ok := strings.CutPrefix(subject, groupPrefix); ok {
		return "group_" + g, fmt.Sprintf("has(request.principal.attr.groups) && %s in request.principal.attr.groups", quote(g))
	}
	return "", ""
}

// cerbosDerivedRoles is the derived roles file of subjects, which any
// principal may hold (parentRoles "*") when its condition holds.
func cerbosDerivedRoles(subjects []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated from policy/policy.csv by bench/peers (Policy.CerbosPolicies): rolegate's\n# group and tenant-role subjects as Cerbos derived roles. Do not edit.\n")
	fmt.Fprintf(&b, "apiVersion: api.cerbos.dev/v1\nderivedRoles:\n  name: %s\n  definitions:\n", quote(CerbosDerivedRoles))
	for _, s := range subjects {
		name, cond := cerbosDerived(s)
		fmt.Fprintf(&b, "    - name: %s\n      parentRoles: [\"*\"]\n      condition:\n        match:\n          expr: %s\n", quote(name), quote(cond))
	}
	return b.String()
}

// cerbosFileName names the policy file of resource res: its name, with
// ":" (as in tenant_role:admin), which Windows and Go module zips refuse
// in file names, written as "%3A".
func cerbosFileName(res string) string {
	return strings.ReplaceAll(res, ":", "%3A") + ".yaml"
}

// heirs returns role and every subject of subjects that inherits it.
func heirs(role string, subjects []string, inherits map[string][]string) []string {
	out := []string{role}
	for _, r := range subjects {
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
// "anonymous" for none) and, as attributes, their groups and, in a
// tenant, their standing there (Cerbos keeps no data: its caller looks
// both up); the resource kind with the owner and, in a tenant, whether the
// tenant is active as attributes. A question in a tenant also asks to read
// the tenant, as if active, as rolegate does first (Layered): the answer is
// allowed when both are.
func CerbosRequest(q Question) map[string]any {
	principal := CerbosAnonymous
	if q.UserID != 0 {
		principal = strconv.FormatInt(q.UserID, 10)
	}
	pattr := map[string]any{}
	if q.Group != "" {
		pattr["groups"] = []string{q.Group}
	}
	attr := map[string]any{}
	id := "none"
	if q.OwnerID != 0 {
		id = strconv.FormatInt(q.OwnerID, 10)
		attr["owner_id"] = id
	}
	resources := []any{}
	if q.Tenant != 0 {
		if q.TenantRole != "" {
			pattr["tenant_role"] = q.TenantRole
		}
		attr["tenant_active"] = !q.TenantInactive
		resources = append(resources, map[string]any{
			"actions":  []string{"read"},
			"resource": map[string]any{"kind": "tenant", "id": strconv.FormatInt(q.Tenant, 10), "attr": map[string]any{"tenant_active": true}},
		})
	}
	resources = append(resources, map[string]any{
		"actions":  []string{q.Action},
		"resource": map[string]any{"kind": q.Resource, "id": id, "attr": attr},
	})
	return map[string]any{
		"requestId": "peers",
		"principal": map[string]any{"id": principal, "roles": []string{q.Role}, "attr": pattr},
		"resources": resources,
	}
}
