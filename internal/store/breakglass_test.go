package store_test

import (
	"crypto/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// bareTenant inserts a tenant row directly and returns its id.
func bareTenant(t *testing.T, s *store.Store) int64 {
	t.Helper()
	slug := "t-" + strings.ToLower(rand.Text()[:10])
	if err := s.Exec(ctx, "INSERT INTO tenants (slug, name, created_at) VALUES (?, ?, ?)", slug, slug, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Strings(ctx, "SELECT CAST(id AS TEXT) FROM tenants WHERE slug = ?", slug)
	if err != nil || len(ids) != 1 {
		t.Fatalf("tenant id: got %v, %v", ids, err)
	}
	id, err := strconv.ParseInt(ids[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// activeModes reads the modes of user's active grants on tenant.
func activeModes(t *testing.T, s *store.Store, tenant, user int64) []string {
	t.Helper()
	modes, err := s.Strings(ctx, `SELECT mode FROM break_glass_grants WHERE tenant_id = ? AND user_id = ?
		AND ended_at IS NULL AND expires_at > ? ORDER BY id`, tenant, user, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	return modes
}

func TestBreakGlass(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			tenant := bareTenant(t, s)
			u := newUser(t, s, "staff")
			before := time.Now().UTC().Truncate(time.Microsecond)
			g, replaced, err := s.StartBreakGlass(ctx, tenant, u.ID, models.BreakGlassRequest{Reason: "ticket 42", Minutes: 30, Mode: models.BreakGlassWrite})
			if err != nil || len(replaced) != 0 {
				t.Fatalf("start: got %+v, replaced %v, %v", g, replaced, err)
			}
			if g.ID == 0 || g.TenantID != tenant || g.UserID != u.ID || g.Mode != "write" || g.Reason != "ticket 42" ||
				g.CreatedAt.Before(before) || g.ExpiresAt.Sub(g.CreatedAt) != 30*time.Minute || g.EndedAt != nil {
				t.Fatalf("start: got %+v, want a write grant for 30 minutes from now", g)
			}
			// Asking again replaces the grant: one active grant at a time.
			read, replaced, err := s.StartBreakGlass(ctx, tenant, u.ID, models.BreakGlassRequest{Reason: "downgrade", Minutes: 5, Mode: models.BreakGlassRead})
			if err != nil || len(replaced) != 1 || replaced[0].ID != g.ID || replaced[0].EndedAt == nil || replaced[0].EndedBy != u.ID {
				t.Fatalf("second start: got replaced %+v, %v; want grant %d ended by its holder", replaced, err, g.ID)
			}
			if got := activeModes(t, s, tenant, u.ID); len(got) != 1 || got[0] != "read" {
				t.Fatalf("active grants: got %v, want [read]", got)
			}
			admin := newUser(t, s, "admin")
			ended, err := s.EndBreakGlass(ctx, tenant, u.ID, admin.ID)
			if err != nil || ended.ID != read.ID || ended.EndedAt == nil || ended.EndedBy != admin.ID || ended.Reason != "downgrade" {
				t.Fatalf("end: got %+v, %v; want grant %d ended by %d", ended, err, read.ID, admin.ID)
			}
			if got := activeModes(t, s, tenant, u.ID); len(got) != 0 {
				t.Fatalf("active grants after the end: got %v, want none", got)
			}
			_, err = s.EndBreakGlass(ctx, tenant, u.ID, u.ID)
			wantCode(t, err, models.ENOTFOUND)

			// An expired grant is not active, and cannot be ended.
			if err := s.Exec(ctx, `INSERT INTO break_glass_grants (tenant_id, user_id, mode, reason, created_at, expires_at)
				VALUES (?, ?, 'read', 'old', ?, ?)`, tenant, u.ID, time.Now().Add(-time.Hour).UTC(), time.Now().Add(-time.Minute).UTC()); err != nil {
				t.Fatal(err)
			}
			_, err = s.EndBreakGlass(ctx, tenant, u.ID, u.ID)
			wantCode(t, err, models.ENOTFOUND)

			_, _, err = s.StartBreakGlass(ctx, 1<<40, u.ID, models.BreakGlassRequest{Reason: "x", Minutes: 1, Mode: "read"})
			wantCode(t, err, models.ENOTFOUND)
			_, _, err = s.StartBreakGlass(ctx, tenant, 1<<40, models.BreakGlassRequest{Reason: "x", Minutes: 1, Mode: "read"})
			wantCode(t, err, models.ENOTFOUND)

			// Grants taken at once by one user: one stays active, 20 rounds.
			for round := range 20 {
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						mode := []string{"read", "write"}[i%2]
						_, _, errs[i] = s.StartBreakGlass(ctx, tenant, u.ID, models.BreakGlassRequest{Reason: "race", Minutes: 1, Mode: mode})
					}()
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if got := activeModes(t, s, tenant, u.ID); len(got) != 1 {
					t.Fatalf("round %d: got active grants %v, want exactly one", round, got)
				}
			}
		})
	}
}
