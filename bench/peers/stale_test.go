package peers

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// TestStaleAfterPolicyChange shows what a policy change does to a warm
// answer. A user may read their own account; then that grant is removed.
// rolegate reloads the edited file and denies at once: the decision cache
// belongs to the policy value the reload replaced. Casbin's
// SyncedCachedEnforcer, told through its own API (RemovePolicy), still
// allows: it drops the cache entry keyed by the removed rule, not the
// requests that rule decided. Its LoadPolicy clears the whole cache.
func TestStaleAfterPolicyChange(t *testing.T) {
	ctx := context.Background()
	modelFile, shipped, _ := paths(t)
	policy, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	const grant = "p, user, users, read, own"
	if !strings.Contains(string(policy), grant+"\n") {
		t.Fatalf("the shipped policy no longer holds %q", grant)
	}
	policyFile := filepath.Join(t.TempDir(), "policy.csv")
	if err := os.WriteFile(policyFile, policy, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := authz.NewManager(ctx, authz.FileLoader{ModelFile: modelFile, PolicyFile: policyFile}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	plain, plainE, err := NewCasbin(modelFile, policyFile)
	if err != nil {
		t.Fatal(err)
	}
	cached, cachedE, err := NewCachedCasbin(modelFile, policyFile)
	if err != nil {
		t.Fatal(err)
	}
	q := Question{Role: "user", UserID: 7, Resource: models.ResourceUsers, OwnerID: 7, Action: models.ActionRead}
	ask := func(e Engine) bool {
		t.Helper()
		got, err := e.Decide(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	engines := []Engine{Rolegate{m.Current()}, plain, cached}
	for range 2 { // the second answer comes from any cache
		for _, e := range engines {
			if !ask(e) {
				t.Fatalf("%s: got deny before the change, want allow", e.Name())
			}
		}
	}

	if err := os.WriteFile(policyFile, []byte(strings.Replace(string(policy), grant+"\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := m.Reload(ctx, "test"); !res.OK || !res.Changed {
		t.Fatalf("reload: got %+v, want a new version in force", res)
	}
	for _, remove := range []func(...any) (bool, error){plainE.RemovePolicy, cachedE.RemovePolicy} {
		if ok, err := remove("user", "users", "read", "own"); err != nil || !ok {
			t.Fatalf("RemovePolicy: got %v, %v, want true", ok, err)
		}
	}
	if ask(Rolegate{m.Current()}) {
		t.Error("rolegate: got allow after the grant was removed, want deny")
	}
	if ask(plain) {
		t.Error("Casbin Enforcer: got allow after the grant was removed, want deny")
	}
	if !ask(cached) {
		t.Error("Casbin SyncedCachedEnforcer: got deny after RemovePolicy, want its stale allow (has Casbin changed? update docs/performance.md)")
	}
	if err := cachedE.LoadPolicy(); err != nil {
		t.Fatal(err)
	}
	if ask(cached) {
		t.Error("Casbin SyncedCachedEnforcer: got allow after LoadPolicy, want deny")
	}
}
