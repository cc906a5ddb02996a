package store_test

import (
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

func TestImportTenantLayer(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			importBatch(t, s, imported(1, "ann"), imported(2, "Bob"))
			at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
			tenant := func(id int64, slug string) *models.Tenant {
				return &models.Tenant{ID: id, Slug: slug, Name: slug, IsActive: true, CreatedAt: at}
			}
			out, err := s.ImportTenants(ctx, []*models.Tenant{tenant(10, "acme"), tenant(20, "beta"), tenant(30, "acme"), tenant(20, "gamma")})
			if err != nil {
				t.Fatal(err)
			}
			wantResults(t, out, store.Imported, store.Imported, store.Conflicted, store.Conflicted)
			out, err = s.ImportTenants(ctx, []*models.Tenant{tenant(10, "acme"), tenant(11, "beta"), tenant(20, "delta")})
			if err != nil {
				t.Fatal(err)
			}
			wantResults(t, out, store.Unchanged, store.Conflicted, store.Conflicted)
			if out[1].Reason != `slug "beta" belongs to tenant 20` || out[2].Reason != `id 20 belongs to tenant "beta"` {
				t.Errorf("reasons: got %q and %q", out[1].Reason, out[2].Reason)
			}

			member := func(tenant, user int64, role string) *models.Membership {
				return &models.Membership{TenantID: tenant, UserID: user, Role: role, IsActive: true, CreatedAt: at}
			}
			// A standing and groups cached before the import are dropped
			// by it.
			store.ForceUserCacheLive(s)
			if u, err := s.CurrentUser(ctx, 1); err != nil || len(u.Groups) != 0 {
				t.Fatalf("ann before: got %+v, %v; want her cached, in no group", u, err)
			}
			if _, standing, err := s.TenantAccess(ctx, "acme", 1); err != nil || standing.Role != "" {
				t.Fatalf("ann's standing in acme before: got %+v, %v; want none", standing, err)
			}
			members, err := s.ImportMembers(ctx, []*models.Membership{member(10, 1, "owner"), member(10, 2, "user"), member(10, 1, "admin"), member(99, 1, "user"), member(20, 99, "user")})
			if err != nil {
				t.Fatal(err)
			}
			wantResults(t, members, store.Imported, store.Imported, store.Unchanged, store.Conflicted, store.Conflicted)
			if members[3].Reason != "there is no tenant 99" || members[4].Reason != "there is no user 99" {
				t.Errorf("reasons: got %q and %q", members[3].Reason, members[4].Reason)
			}
			if _, standing, err := s.TenantAccess(ctx, "acme", 1); err != nil || standing.Role != "owner" {
				t.Errorf("ann's standing in acme after the import: got %+v, %v; want owner", standing, err)
			}
			// An import never changes a stored membership, not even its role.
			members, err = s.ImportMembers(ctx, []*models.Membership{member(10, 2, "owner")})
			if err != nil {
				t.Fatal(err)
			}
			wantResults(t, members, store.Unchanged)

			if _, err := s.CurrentUser(ctx, 1); err != nil { // cached again, with no group
				t.Fatal(err)
			}
			groups, err := s.ImportGroupMembers(ctx, []store.ImportGroupMember{{UserID: 1, Group: "support"}, {UserID: 1, Group: "support"}, {UserID: 99, Group: "support"}, {UserID: 2, Group: "audit"}})
			if err != nil {
				t.Fatal(err)
			}
			wantResults(t, groups, store.Imported, store.Unchanged, store.Conflicted, store.Imported)
			if u, err := s.CurrentUser(ctx, 1); err != nil || len(u.Groups) != 1 || u.Groups[0] != "support" {
				t.Errorf("ann's groups after the import: got %+v, %v; want support", u, err)
			}

			users, tenants, err := s.ImportedIDs(ctx, []string{"ANN", "bob", "nobody"}, []string{"beta", "nowhere"})
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 2 || users["ANN"] != 1 || users["bob"] != 2 || len(tenants) != 1 || tenants["beta"] != 20 {
				t.Errorf("ids: got users %v, tenants %v; want ANN 1, bob 2, beta 20", users, tenants)
			}
		})
	}
}
