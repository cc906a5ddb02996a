package peers

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// paths returns the shipped model and policy and the Rego file.
func paths(tb testing.TB) (model, policy, regoFile string) {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(root, "policy", "model.conf"), filepath.Join(root, "policy", "policy.csv"),
		filepath.Join(root, "bench", "peers", "policy", "rolegate.rego")
}

// agreeAll answers qs with rolegate and checks every other engine gives
// the same answer to each.
func agreeAll(t *testing.T, engines []Engine, qs []Question) {
	t.Helper()
	ctx := context.Background()
	if err := Answer(ctx, engines[0], qs); err != nil {
		t.Fatal(err)
	}
	for _, e := range engines[1:] {
		if err := Agree(ctx, e, qs); err != nil {
			t.Error(err)
		}
	}
}

// TestAgreement asks the in-process engines the run's 10,000 questions on
// the shipped policy (the HTTP engines are asked the same set by run.sh).
func TestAgreement(t *testing.T) {
	modelFile, policyFile, regoFile := paths(t)
	p, err := LoadPolicy(modelFile, policyFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Vocabulary()
	if err != nil {
		t.Fatal(err)
	}
	n := 10_000
	if testing.Short() {
		n = 8_000 // every combination (6,924 of them) and some random questions
	}
	d := Directory{Size: 10_000}
	qs, err := Generate(v, d, 1, n)
	if err != nil {
		t.Fatal(err)
	}
	engines, err := InProcess(context.Background(), p, regoFile, d)
	if err != nil {
		t.Fatal(err)
	}
	agreeAll(t, engines, qs)
	allowed := 0
	for _, q := range qs {
		if q.Want {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(qs) {
		t.Errorf("got %d of %d questions allowed, want a mix: the set does not tell engines apart", allowed, len(qs))
	}
}

// TestAgreementAtSize checks the engines agree on the generated policies
// the in-process timings use, role inheritance (g lines) included.
func TestAgreementAtSize(t *testing.T) {
	modelFile, _, regoFile := paths(t)
	sizes, n := []int{10, 1_000, 10_000}, 2_000
	if testing.Short() {
		sizes, n = []int{10, 1_000}, 300
	}
	for _, lines := range sizes {
		p, err := Synthetic(modelFile, t.TempDir(), lines)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Vocabulary()
		if err != nil {
			t.Fatal(err)
		}
		engines, err := InProcess(context.Background(), p, regoFile, Directory{})
		if err != nil {
			t.Fatal(err)
		}
		agreeAll(t, engines, Random(v, Anyone{Roles: v.Roles}, uint64(lines), n))
	}
}

// TestGenerateCovers checks the question set asks every role, resource,
// action and ownership case, and that the same seed gives the same set.
func TestGenerateCovers(t *testing.T) {
	modelFile, policyFile, _ := paths(t)
	p, err := LoadPolicy(modelFile, policyFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Vocabulary()
	if err != nil {
		t.Fatal(err)
	}
	d := Directory{Size: 10_000}
	qs, err := Generate(v, d, 7, 8_000)
	if err != nil {
		t.Fatal(err)
	}
	type combo struct {
		role, resource, action string
		own                    Ownership
	}
	seen := map[combo]bool{}
	for i, q := range qs {
		own := OwnerOther
		switch {
		case q.OwnerID == 0:
			own = OwnerNone
		case q.OwnerID == q.UserID:
			own = OwnerSelf
		}
		seen[combo{q.Role, q.Resource, q.Action, own}] = true
		if q.Role == models.AnonymousRole {
			if q.UserID != 0 || q.HTTPUser == 0 || d.Active(q.HTTPUser) {
				t.Fatalf("question %d (%s): an anonymous question must name no id and an inactive user over HTTP, got http_user %d", i, q, q.HTTPUser)
			}
		} else if d.Role(q.UserID) != q.Role || !d.Active(q.UserID) || q.HTTPUser != q.UserID {
			t.Fatalf("question %d (%s): user %d is not an active %s asking for themself (http_user %d)", i, q, q.UserID, q.Role, q.HTTPUser)
		}
	}
	for _, role := range v.Roles {
		for _, res := range v.Resources {
			for _, act := range v.Actions {
				for _, own := range []Ownership{OwnerNone, OwnerSelf, OwnerOther} {
					if role == models.AnonymousRole && own == OwnerSelf {
						continue
					}
					if !seen[combo{role, res, act, own}] {
						t.Errorf("no question asks %s %s %s with ownership %d", role, res, act, own)
					}
				}
			}
		}
	}
	checkTenantCoverage(t, v, d, qs)
	again, err := Generate(v, d, 7, 8_000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range qs {
		if qs[i] != again[i] {
			t.Fatalf("question %d: got %s from the same seed, want %s", i, again[i], qs[i])
		}
	}
	if _, err := Generate(v, d, 7, 10); err == nil {
		t.Error("got no error for 10 questions, want one: they cannot cover every combination")
	}
}

// TestAgreeReportsTheQuestion checks a disagreeing engine fails the check
// with the question it got wrong.
func TestAgreeReportsTheQuestion(t *testing.T) {
	qs := []Question{{Role: "user", UserID: 7, Resource: "users", OwnerID: 7, Action: "read", Want: true}}
	err := Agree(context.Background(), denyAll{}, qs)
	var d *Disagreement
	if !errors.As(err, &d) || d.Index != 1 || d.Question != qs[0] || d.Got {
		t.Fatalf("got %v, want a disagreement on question 1", err)
	}
	want := "deny-all disagrees with rolegate on question 1 (role=user user_id=7 resource=users owner_id=7 action=read): got allowed=false, want true"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}
}

type denyAll struct{}

func (denyAll) Name() string                                   { return "deny-all" }
func (denyAll) Decide(context.Context, Question) (bool, error) { return false, nil }

// checkTenantCoverage checks the set asks every tenant role, and no
// membership, about every resource and action of the tenant layer with
// every ownership case in an active tenant and in an inactive one, that a
// question's standing is the directory's, and that some questions are
// asked by a group's member.
func checkTenantCoverage(t *testing.T, v Vocabulary, d Directory, qs []Question) {
	t.Helper()
	type combo struct {
		role, resource, action string
		own                    Ownership
		inactive               bool
	}
	seen := map[combo]bool{}
	groups := 0
	for i, q := range qs {
		if q.Group != "" {
			groups++
		}
		if q.Group != d.group(q.UserID) {
			t.Fatalf("question %d (%s): group %q, the directory says %q", i, q, q.Group, d.group(q.UserID))
		}
		if q.Tenant == 0 {
			continue
		}
		if q.TenantRole != d.Standing(q.UserID, q.Tenant) || q.TenantInactive == d.TenantActive(q.Tenant) {
			t.Fatalf("question %d (%s): not the directory's standing", i, q)
		}
		own := OwnerOther
		switch {
		case q.OwnerID == 0:
			own = OwnerNone
		case q.OwnerID == q.UserID:
			own = OwnerSelf
		}
		seen[combo{q.TenantRole, q.Resource, q.Action, own, q.TenantInactive}] = true
	}
	for _, role := range append(slices.Clone(v.TenantRoles), "") {
		for _, res := range v.TenantResources {
			for _, act := range v.TenantActions {
				for _, own := range owns {
					if !seen[combo{role, res, act, own, false}] {
						t.Errorf("no question asks tenant role %q %s %s with ownership %d in an active tenant", role, res, act, own)
					}
				}
				if !seen[combo{role, res, act, OwnerNone, true}] {
					t.Errorf("no question asks tenant role %q %s %s in an inactive tenant", role, res, act)
				}
			}
		}
	}
	if groups == 0 {
		t.Error("no question is asked by a member of a group")
	}
}
