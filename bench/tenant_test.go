package bench

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// membership is the key of a flat membership table: who, in which tenant.
type membership struct{ user, tenant int64 }

// memberships builds a table of n memberships over n/10 tenants (at least
// one) with ten members each, the shape of issue 12's scale (100,000
// tenants, 1,000,000 memberships), in which the asking user, 1, is a
// member of min(n, 1000) tenants. It returns the table and the asking
// user's tenants. Roles cycle through the tenant roles; the asking user is
// a tenant "user" everywhere, so every question below is decided by the
// same grant however large the table.
func memberships(n int) (map[membership]string, []int64) {
	roles := []string{"owner", "admin", "manager", "user", "readonly"}
	table := make(map[membership]string, n)
	tenants := max(int64(n/10), 1)
	var mine []int64
	for t := int64(1); t <= min(int64(n), 1000) && t <= tenants; t++ {
		table[membership{1, t}] = "user"
		mine = append(mine, t)
	}
	for i := int64(0); len(table) < n; i++ {
		table[membership{user: 2 + i/tenants, tenant: 1 + i%tenants}] = roles[i%int64(len(roles))]
	}
	return table, mine
}

func shippedPolicy(tb testing.TB) *authz.Policy {
	tb.Helper()
	modelFile, err := ModelFile()
	if err != nil {
		tb.Fatal(err)
	}
	p, err := authz.Load(modelFile, filepath.Join(filepath.Dir(modelFile), "policy.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkDecideTenant measures a decision inside a tenant, end to end in
// process: find the caller's role in the tenant in a flat membership table
// (a map, as a cache of tenant_members is), build the subject, and Decide
// with the shipped policy. Memberships are not in Casbin, so the policy is
// the same whatever the table holds: the cost per decision should not grow
// from 10 memberships to 1,000,000. The question (a tenant user updating a
// customer record they created) is allowed by the membership, after the
// system role was asked and denied. "without-tenant" is the system
// question every request asks today (a user updating their own account),
// for the ratio; "uncached" variants give every call a new user id, so
// that the decision cache never answers and Casbin evaluates each layer
// asked.
func BenchmarkDecideTenant(b *testing.B) {
	p := shippedPolicy(b)
	for _, uncached := range []bool{false, true} {
		suffix := ""
		if uncached {
			suffix = "/uncached"
		}
		b.Run("without-tenant"+suffix, func(b *testing.B) {
			runDecide(b, p, uncached, models.Resource{Type: models.ResourceUsers, OwnerID: 1}, nil)
		})
		for _, n := range []int{10, 1_000_000} {
			table, mine := memberships(n)
			b.Run(fmt.Sprintf("memberships=%d%s", n, suffix), func(b *testing.B) {
				runDecide(b, p, uncached, models.Resource{Type: "customers", OwnerID: 1}, func(i int) (int64, string) {
					tenant := mine[i%len(mine)]
					role, ok := table[membership{1, tenant}]
					if !ok {
						b.Fatalf("user 1 is not in tenant %d", tenant)
					}
					return tenant, role
				})
			})
		}
	}
}

// fresh numbers the ids of uncached questions: never the same twice in a
// process, so that no run answers from an earlier run's cache.
var fresh atomic.Int64

// runDecide has user 1, a system user, update res once per iteration,
// which must be allowed. With lookup, the question is about the tenant
// lookup(i) gives, where the caller has the role it gives. Uncached, the
// subject and owner ids move on every call (by the same amount, so "own"
// grants still match).
func runDecide(b *testing.B, p *authz.Policy, uncached bool, res models.Resource, lookup func(int) (int64, string)) {
	b.ReportAllocs()
	cpu := startCPU()
	i := 0
	for b.Loop() {
		sub, res := models.Subject{ID: 1, Role: "user"}, res
		if lookup != nil {
			tenant, role := lookup(i)
			sub.Tenant = &models.TenantContext{TenantID: tenant, Role: role}
		}
		if uncached {
			shift := 1_000_000 * fresh.Add(1)
			sub.ID, res.OwnerID = sub.ID+shift, res.OwnerID+shift
		}
		i++
		d, err := p.Decide(sub, res, models.ActionUpdate)
		if err != nil || !d.Allowed {
			b.Fatalf("user %d, %s owned by %d: got allowed=%v, %v, want allowed", sub.ID, res.Type, res.OwnerID, d.Allowed, err)
		}
	}
	cpu.Report(b)
}

func TestMembershipsHaveTheirSize(t *testing.T) {
	for _, n := range []int{10, 1000, 25_000} {
		table, mine := memberships(n)
		if len(table) != n || len(mine) != min(n/10, 1000) {
			t.Errorf("memberships(%d): got %d memberships, user 1 in %d tenants, want %d and %d", n, len(table), len(mine), n, min(n/10, 1000))
		}
	}
}
