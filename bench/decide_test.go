package bench

import (
	"fmt"
	"os"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	fileadapter "github.com/casbin/casbin/v2/persist/file-adapter"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

var policySizes = []int{10, 100, 1000, 10000}

func compile(tb testing.TB, rules int) *authz.Policy {
	tb.Helper()
	modelFile, err := ModelFile()
	if err != nil {
		tb.Fatal(err)
	}
	m, err := os.ReadFile(modelFile)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := authz.Compile(authz.Source{ModelFile: "model.conf", PolicyFile: "policy.csv", Model: m, Policy: []byte(SyntheticPolicy(rules))})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// decideCases are an allow by the last grant of the policy (role9, own,
// on the last resource type) and a deny on that type: the worst cases of a
// linear scan.
func decideCases(rules int) []struct {
	name   string
	sub    models.Subject
	res    models.Resource
	action string
	allow  bool
} {
	last := LastResource(rules)
	return []struct {
		name   string
		sub    models.Subject
		res    models.Resource
		action string
		allow  bool
	}{
		{"allow", models.Subject{ID: 7, Role: "role9"}, models.Resource{Type: last, OwnerID: 7}, Actions[9%len(Actions)], true},
		{"deny", models.Subject{ID: 7, Role: "role9"}, models.Resource{Type: last, OwnerID: 8}, Actions[9%len(Actions)], false},
	}
}

// BenchmarkDecide measures authz.Policy.Decide, the path every request
// takes, as the policy grows, asking the same question again and again as
// a client does: after the first call the decision cache answers.
func BenchmarkDecide(b *testing.B) {
	for _, n := range policySizes {
		p := compile(b, n)
		for _, c := range decideCases(n) {
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					d, err := p.Decide(c.sub, c.res, c.action)
					if err != nil || d.Allowed != c.allow {
						b.Fatalf("got %v, %v, want allowed=%v", d.Allowed, err, c.allow)
					}
				}
				cpu.Report(b)
			})
		}
	}
}

// BenchmarkDecideUncached is BenchmarkDecide with a new subject and owner
// id on every call, so that the decision cache never answers: the cost of
// Casbin on the policy's partition for the resource type.
func BenchmarkDecideUncached(b *testing.B) {
	for _, n := range policySizes {
		p := compile(b, n)
		for _, c := range decideCases(n) {
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				id := int64(1_000_000)
				for b.Loop() {
					id += 2
					sub, res := c.sub, c.res
					sub.ID, res.OwnerID = id, id+res.OwnerID-sub.ID
					d, err := p.Decide(sub, res, c.action)
					if err != nil || d.Allowed != c.allow {
						b.Fatalf("got %v, %v, want allowed=%v", d.Allowed, err, c.allow)
					}
				}
				cpu.Report(b)
			})
		}
	}
}

// BenchmarkCasbinEnforce measures a plain casbin.Enforcer with the same
// model and policy, for the ratio rolegate's Decide is compared with.
func BenchmarkCasbinEnforce(b *testing.B) {
	modelFile, err := ModelFile()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range policySizes {
		policyFile := b.TempDir() + "/policy.csv"
		if err := os.WriteFile(policyFile, []byte(SyntheticPolicy(n)), 0o600); err != nil {
			b.Fatal(err)
		}
		m, err := model.NewModelFromFile(modelFile)
		if err != nil {
			b.Fatal(err)
		}
		e, err := casbin.NewEnforcer(m, fileadapter.NewAdapter(policyFile))
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range decideCases(n) {
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					ok, _, err := e.EnforceEx(c.sub.Role, fmt.Sprint(c.sub.ID), c.res.Type, fmt.Sprint(c.res.OwnerID), c.action)
					if err != nil || ok != c.allow {
						b.Fatalf("got %v, %v, want %v", ok, err, c.allow)
					}
				}
				cpu.Report(b)
			})
		}
	}
}
