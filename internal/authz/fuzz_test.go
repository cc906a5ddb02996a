package authz_test

import (
	"errors"
	"os"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// FuzzCompile compiles arbitrary model, policy and route table text. It
// never panics; a refusal is a LoadErrors whose every entry names its file
// (and, for the policy and the route table, the line); a policy that
// compiles decides and routes any request without panicking, in every
// layer of a subject (role, groups, tenant role, break-glass), and a
// decision it could not make is never an allow.
func FuzzCompile(f *testing.F) {
	shippedModel, _ := os.ReadFile("../../policy/model.conf")
	shippedPolicy, _ := os.ReadFile("../../policy/policy.csv")
	shippedRoutes, _ := os.ReadFile("../../policy/routes.csv")
	f.Add(string(shippedModel), string(shippedPolicy), string(shippedRoutes), "admin", "users", "list", "GET", "/api/users/1")
	f.Add(string(shippedModel), "p, user, users, read, own\ng, staff, user\n", "route, GET, /u/:id, users, read, :id\n", "staff", "users", "read", "GET", "/u/2")
	f.Add(string(shippedModel), "p, tenant:a, records, read, any\ng2, c, records\ng, break_glass:read, tenant:a\np, group:a, x, y, own\n", "route, GET, /t/:t/c/:id, c, read, :id, :t\n", "a", "c", "read", "GET", "/t/x/c/1")
	f.Add("[request_definition]\nr = sub, obj, act\n[policy_definition]\np = sub, obj, act\n[policy_effect]\ne = some(where (p.eft == allow))\n[matchers]\nm = r.sub == p.sub && keyMatch(r.obj, p.obj) && r.act == p.act\n",
		"p, a, /x/*, get\n", "", "a", "/x/y", "get", "", "")
	f.Add("[request_definition]\nr = sub, obj, act\n[policy_definition]\np = sub, obj, act, eft\n[policy_effect]\ne = some(where (p.eft == allow)) && !some(where (p.eft == deny))\n[matchers]\nm = regexMatch(r.obj, p.obj) && r.sub == p.sub\n",
		"p, a, (, get, allow\np, a, x, get, deny\n", "", "a", "x", "get", "", "")
	f.Add("[request_definition]\nr = sub, obj\n", "", "", "", "", "", "", "")
	f.Add(string(shippedModel), "p, user\nq, x\np, \"a, users, read, any\n", "route, GET, /a/../b, x, y, -\nroute,GET\n", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, model, policy, routes, role, resource, action, method, uri string) {
		src := authz.Source{
			ModelFile: "model.conf", PolicyFile: "policy.csv", RoutesFile: "routes.csv",
			Model: []byte(model), Policy: []byte(policy), Routes: []byte(routes),
		}
		p, err := authz.Compile(src)
		if err != nil {
			checkLoadErrors(t, err)
			return
		}
		tenant := &models.TenantContext{TenantID: 1, Role: role, BreakGlass: role}
		for _, sub := range []models.Subject{{Role: role}, {ID: 1, Role: role}, {ID: 1, Groups: []string{role, action}, Tenant: tenant}} {
			for _, res := range []models.Resource{{Type: resource}, {Type: resource, OwnerID: 1}, {Type: resource, OwnerID: 2}} {
				d, err := p.Decide(sub, res, action)
				if err != nil && (d.Allowed || models.ErrorCode(err) != models.EUNAVAILABLE) {
					t.Fatalf("Decide(%v, %v, %q) = %+v, %v: a failure must be an unavailable deny", sub, res, action, d, err)
				}
			}
		}
		if target, err := p.Route(method, uri); err != nil && models.ErrorCode(err) != models.EFORBIDDEN {
			t.Fatalf("Route(%q, %q) = %+v, %v: want a route or a 403", method, uri, target, err)
		}
	})
}

func checkLoadErrors(t *testing.T, err error) {
	t.Helper()
	var les authz.LoadErrors
	if !errors.As(err, &les) || len(les) == 0 {
		t.Fatalf("Compile error %T %v: want LoadErrors", err, err)
	}
	for _, le := range les {
		if le.Reason == "" {
			t.Fatalf("Compile error %+v has no reason", le)
		}
		switch le.File {
		case "model.conf":
		case "policy.csv", "routes.csv":
			if le.Line <= 0 && le.Reason != "bufio.Scanner: token too long" {
				t.Fatalf("Compile error %q has no line", le.Error())
			}
		default:
			t.Fatalf("Compile error %q names no file of the source", le.Error())
		}
	}
}
