package store_test

import (
	"crypto/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
)

// TenantStandingByRef answers what TenantByRef and TenantStanding answer
// together, for every kind of standing and reference.
func TestTenantStandingByRef(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			owner := newUser(t, s, "user")
			slug := "v-" + strings.ToLower(rand.Text()[:10])
			tn, err := s.CreateTenant(ctx, &models.Tenant{Slug: slug, Name: "View", IsActive: true}, owner.ID, "owner")
			if err != nil {
				t.Fatal(err)
			}
			// A tenant whose slug is a number, which refs also read as an id.
			numeric, err := s.CreateTenant(ctx, &models.Tenant{Slug: strconv.FormatInt(tn.ID, 10) + "0", Name: "Numeric", IsActive: true}, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			inactive := newUser(t, s, "user")
			role, no := "manager", false
			if _, err := s.PutMember(ctx, tn.ID, inactive.ID, models.MemberPatch{Role: &role, IsActive: &no}, models.TenantGuard{}, nil); err != nil {
				t.Fatal(err)
			}
			staff := newUser(t, s, "staff")
			if _, _, err := s.StartBreakGlass(ctx, tn.ID, staff.ID, models.BreakGlassRequest{Reason: "r", Minutes: 5, Mode: "write"}); err != nil {
				t.Fatal(err)
			}
			stranger := newUser(t, s, "user")
			for _, ref := range []string{slug, strconv.FormatInt(tn.ID, 10), numeric.Slug, strconv.FormatInt(numeric.ID, 10)} {
				for _, uid := range []int64{owner.ID, inactive.ID, staff.ID, stranger.ID, 0} {
					got, standing, err := s.TenantStandingByRef(ctx, ref, uid)
					if err != nil {
						t.Fatalf("ref %s, user %d: %v", ref, uid, err)
					}
					want, err := s.TenantByRef(ctx, ref)
					if err != nil {
						t.Fatal(err)
					}
					wantStanding, err := s.TenantStanding(ctx, want.ID, uid)
					if err != nil {
						t.Fatal(err)
					}
					if got.ID != want.ID || got.Slug != want.Slug || got.Name != want.Name || got.IsActive != want.IsActive ||
						!got.CreatedAt.Equal(want.CreatedAt) || standing != wantStanding {
						t.Errorf("ref %s, user %d: got %+v %+v, want %+v %+v", ref, uid, got, standing, want, wantStanding)
					}
				}
			}
			if _, st, _ := s.TenantStandingByRef(ctx, slug, owner.ID); st.Role != "owner" {
				t.Errorf("owner: got standing %+v, want role owner", st)
			}
			if _, st, _ := s.TenantStandingByRef(ctx, slug, staff.ID); st.BreakGlass != "write" || st.Role != "" {
				t.Errorf("staff: got standing %+v, want break-glass write only", st)
			}
			for _, ref := range []string{"no-such-tenant", "999999999", "", "a\x00b"} {
				_, _, err := s.TenantStandingByRef(ctx, ref, owner.ID)
				wantCode(t, err, models.ENOTFOUND)
			}
		})
	}
}
