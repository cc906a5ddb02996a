package store_test

import (
	"fmt"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// BenchmarkTenantAccess compares what a decision inside a tenant costs
// the store: TenantAccess from the user cache, against TenantByRef and
// TenantStanding, two queries, on each database.
func BenchmarkTenantAccess(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		s := freshStore(b, target)
		store.ForceUserCacheLive(s)
		u, err := s.CreateUser(ctx, &models.User{Username: "bench", Role: "user", IsActive: true, PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		tn, err := s.CreateTenant(ctx, &models.Tenant{Slug: "bench", Name: "Bench", IsActive: true}, u.ID, "owner")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/cached", target.Name), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.CurrentUser(ctx, u.ID); err != nil {
					b.Fatal(err)
				}
				if _, st, err := s.TenantAccess(ctx, tn.Slug, u.ID); err != nil || st.Role != "owner" {
					b.Fatal(st, err)
				}
			}
		})
		b.Run(fmt.Sprintf("%s/queries", target.Name), func(b *testing.B) {
			for b.Loop() {
				t, err := s.TenantByRef(ctx, tn.Slug)
				if err != nil {
					b.Fatal(err)
				}
				if st, err := s.TenantStanding(ctx, t.ID, u.ID); err != nil || st.Role != "owner" {
					b.Fatal(st, err)
				}
			}
		})
	}
}
