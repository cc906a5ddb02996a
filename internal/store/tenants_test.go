package store_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestTenants runs the tenant layer's suite on every database under test.
func TestTenants(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			for name, test := range tenantSuite {
				t.Run(name, func(t *testing.T) { test(t, s) })
			}
		})
	}
}

var tenantSuite = map[string]func(*testing.T, *store.Store){
	"CreateValidatesAndOwns":      testCreateTenantValidatesAndOwns,
	"RefIsSlugThenID":             testTenantRefIsSlugThenID,
	"UpdateReturnsBeforeAndAfter": testUpdateTenant,
	"DeleteCascades":              testDeleteTenantCascades,
	"ListsPage":                   testTenantListsPage,
	"PutMemberAndChecks":          testPutMember,
	"LastOwnerIsKept":             testLastOwnerIsKept,
	"OwnersDemotingEachOther":     testOwnersDemotingEachOther,
	"LastOwnerIsNotDeleted":       testLastOwnerIsNotDeleted,
	"OwnersDeletedAtOnce":         testOwnersDeletedAtOnce,
	"MembersFilterAndPage":        testListMembers,
	"Standing":                    testTenantStanding,
	"Invitations":                 testInvitations,
	"InvitationRefusals":          testInvitationRefusals,
	"AuditCarriesTenant":          testAuditCarriesTenant,
	"AccessIsCachedAndDropped":    testTenantAccessCache,
	"InvitationRaces":             testInvitationRaces,
}

var ownerGuard = models.TenantGuard{Roles: []string{"owner"}}

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

// newTenant creates a tenant with a unique slug owned by owner (none if nil).
func newTenant(t *testing.T, s *store.Store, owner *models.User) *models.Tenant {
	t.Helper()
	var ownerID int64
	if owner != nil {
		ownerID = owner.ID
	}
	tn, err := s.CreateTenant(ctx, &models.Tenant{Slug: fmt.Sprintf("t-%d-%d", time.Now().UnixNano()%1e9, next()), Name: "Acme", IsActive: true}, ownerID, "owner")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return tn
}

func putMember(t *testing.T, s *store.Store, tn *models.Tenant, u *models.User, role string) {
	t.Helper()
	if _, err := s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{Role: &role}, ownerGuard, nil); err != nil {
		t.Fatalf("put member %d as %s: %v", u.ID, role, err)
	}
}

func testCreateTenantValidatesAndOwns(t *testing.T, s *store.Store) {
	owner := newUser(t, s, "user")
	for _, bad := range []models.Tenant{
		{Slug: "A", Name: "x"}, {Slug: "Upper", Name: "x"}, {Slug: "ok-slug", Name: ""},
		{Slug: "ok-slug", Name: strings.Repeat("n", 201)}, {Slug: "ok-slug", Name: "x", Settings: json.RawMessage(`[1]`)},
		{Slug: "ok-slug", Name: "x", Settings: json.RawMessage(`{"a":"` + strings.Repeat("x", 16<<10) + `"}`)},
		{Slug: strings.Repeat("a", 64), Name: "x"}, {Slug: "has space", Name: "x"},
	} {
		_, err := s.CreateTenant(ctx, &bad, owner.ID, "owner")
		wantCode(t, err, models.EINVALID)
	}
	tn, err := s.CreateTenant(ctx, &models.Tenant{Slug: "guest-" + fmt.Sprint(next()), Name: "Guest", IsActive: true}, owner.ID, "owner")
	if err != nil {
		t.Fatal(err)
	}
	if tn.ID == 0 || string(tn.Settings) != "{}" || tn.CreatedAt.IsZero() || !tn.IsActive {
		t.Errorf("created: got %+v, want an id, settings {}, a creation time, active", tn)
	}
	m, err := s.MemberOf(ctx, tn.ID, owner.ID)
	if err != nil || m.Role != "owner" || !m.IsActive {
		t.Fatalf("creator's membership: got %+v, %v, want an active owner", m, err)
	}
	_, err = s.CreateTenant(ctx, &models.Tenant{Slug: tn.Slug, Name: "Again"}, owner.ID, "owner")
	wantCode(t, err, models.ECONFLICT)
	_, err = s.CreateTenant(ctx, &models.Tenant{Slug: "nobody-" + fmt.Sprint(next()), Name: "x"}, 1<<40, "owner")
	wantCode(t, err, models.ENOTFOUND)
}

func testTenantRefIsSlugThenID(t *testing.T, s *store.Store) {
	a := newTenant(t, s, nil)
	for a.ID < 10 { // an id that is a valid slug
		a = newTenant(t, s, nil)
	}
	got, err := s.TenantByRef(ctx, a.Slug)
	if err != nil || got.ID != a.ID {
		t.Fatalf("by slug: got %+v, %v", got, err)
	}
	got, err = s.TenantByRef(ctx, fmt.Sprint(a.ID))
	if err != nil || got.ID != a.ID {
		t.Fatalf("by id: got %+v, %v", got, err)
	}
	// A slug that is another tenant's id names the slug's tenant.
	numeric, err := s.CreateTenant(ctx, &models.Tenant{Slug: fmt.Sprint(a.ID), Name: "Digits"}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.TenantByRef(ctx, fmt.Sprint(a.ID))
	if err != nil || got.ID != numeric.ID {
		t.Errorf("numeric slug: got %+v, %v, want tenant %d", got, err, numeric.ID)
	}
	for _, ref := range []string{"no-such-tenant", "0", "-1", "99999999999", "", "a\x00b"} {
		_, err := s.TenantByRef(ctx, ref)
		wantCode(t, err, models.ENOTFOUND)
	}
}

func testUpdateTenant(t *testing.T, s *store.Store) {
	tn := newTenant(t, s, nil)
	ch, err := s.UpdateTenant(ctx, tn.ID, models.TenantPatch{Name: strp("Renamed"), Settings: json.RawMessage(`{"theme":"dark"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Before.Name != "Acme" || ch.After.Name != "Renamed" || string(ch.After.Settings) != `{"theme":"dark"}` || ch.After.Slug != tn.Slug {
		t.Errorf("change: got %+v -> %+v", ch.Before, ch.After)
	}
	_, err = s.UpdateTenant(ctx, tn.ID, models.TenantPatch{Settings: json.RawMessage(`"str"`)})
	wantCode(t, err, models.EINVALID)
	if _, err := s.UpdateTenant(ctx, tn.ID, models.TenantPatch{IsActive: boolp(false)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.TenantByID(ctx, tn.ID)
	if err != nil || got.IsActive || got.Name != "Renamed" {
		t.Errorf("stored: got %+v, %v, want inactive and renamed", got, err)
	}
	_, err = s.UpdateTenant(ctx, 1<<40, models.TenantPatch{Name: strp("x")})
	wantCode(t, err, models.ENOTFOUND)
}

func testDeleteTenantCascades(t *testing.T, s *store.Store) {
	owner := newUser(t, s, "user")
	tn := newTenant(t, s, owner)
	if _, err := s.CreateInvitation(ctx, &models.Invitation{TenantID: tn.ID, Email: "a@example.com", Role: "user", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before, err := s.DeleteTenant(ctx, tn.ID)
	if err != nil || before.Slug != tn.Slug {
		t.Fatalf("delete: got %+v, %v", before, err)
	}
	_, err = s.MemberOf(ctx, tn.ID, owner.ID)
	wantCode(t, err, models.ENOTFOUND)
	n, err := s.Strings(ctx, "SELECT CAST(COUNT(*) AS TEXT) FROM tenant_invitations WHERE tenant_id = ?", tn.ID)
	if err != nil || n[0] != "0" {
		t.Errorf("invitations left: got %v, %v, want 0", n, err)
	}
	_, err = s.DeleteTenant(ctx, tn.ID)
	wantCode(t, err, models.ENOTFOUND)
}

func testTenantListsPage(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	var mine []*models.Tenant
	for range 5 {
		tn := newTenant(t, s, nil)
		mine = append(mine, tn)
		putMember(t, s, tn, u, "readonly")
	}
	// An inactive membership lists nothing.
	if _, err := s.PutMember(ctx, mine[4].ID, u.ID, models.MemberPatch{IsActive: boolp(false)}, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	var after int64
	for {
		page, err := s.ListTenantsOf(ctx, u.ID, models.TenantFilter{AfterID: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 || len(got) > 10 {
			break
		}
		for _, mt := range page {
			got = append(got, mt.Slug+":"+mt.Role)
			after = mt.ID
		}
	}
	var want []string
	for _, tn := range mine[:4] {
		want = append(want, tn.Slug+":readonly")
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ListTenantsOf: got %v, want %v", got, want)
	}
	all, err := s.ListTenants(ctx, models.TenantFilter{AfterID: mine[0].ID - 1, Limit: 5})
	if err != nil || len(all) != 5 || all[0].ID != mine[0].ID || all[4].ID != mine[4].ID {
		t.Errorf("ListTenants: got %d tenants, %v", len(all), err)
	}
	_, err = s.ListTenants(ctx, models.TenantFilter{Limit: 0})
	wantCode(t, err, models.EINVALID)
}

func testPutMember(t *testing.T, s *store.Store) {
	owner, u := newUser(t, s, "user"), newUser(t, s, "user")
	tn := newTenant(t, s, owner)
	_, err := s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{}, ownerGuard, nil)
	wantCode(t, err, models.EINVALID)
	ch, err := s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{Role: strp("manager"), InvitedBy: owner.ID}, ownerGuard,
		func(locked *models.Membership, activeRole func(int64) (string, error)) error {
			if locked != nil {
				t.Errorf("check: got %+v, want nil for a new member", locked)
			}
			if role, err := activeRole(owner.ID); role != "owner" || err != nil {
				t.Errorf("check: the owner's active role: got %q, %v", role, err)
			}
			if role, err := activeRole(u.ID); role != "" || err != nil {
				t.Errorf("check: a non-member's active role: got %q, %v", role, err)
			}
			return nil
		})
	if err != nil || ch.Before != nil || ch.After.Role != "manager" || !ch.After.IsActive || ch.After.InvitedBy != owner.ID {
		t.Fatalf("add: got %+v, %v", ch, err)
	}
	refuse := models.Errorf(models.EFORBIDDEN, "no")
	_, err = s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{Role: strp("admin")}, ownerGuard, func(locked *models.Membership, _ func(int64) (string, error)) error {
		if locked == nil || locked.Role != "manager" {
			t.Errorf("check: got %+v, want the manager membership", locked)
		}
		return refuse
	})
	if err != refuse {
		t.Fatalf("refused change: got %v, want the check's error", err)
	}
	if m, _ := s.MemberOf(ctx, tn.ID, u.ID); m.Role != "manager" {
		t.Errorf("after a refused change: got role %q, want manager", m.Role)
	}
	ch, err = s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{Role: strp("user")}, ownerGuard, nil)
	if err != nil || ch.Before.Role != "manager" || ch.After.Role != "user" || ch.After.InvitedBy != owner.ID {
		t.Fatalf("change: got %+v -> %+v, %v", ch.Before, ch.After, err)
	}
	_, err = s.PutMember(ctx, tn.ID, 1<<40, models.MemberPatch{Role: strp("user")}, ownerGuard, nil)
	wantCode(t, err, models.ENOTFOUND)
	_, err = s.PutMember(ctx, 1<<40, u.ID, models.MemberPatch{Role: strp("user")}, ownerGuard, nil)
	wantCode(t, err, models.ENOTFOUND)
	before, err := s.RemoveMember(ctx, tn.ID, u.ID, ownerGuard, nil)
	if err != nil || before.Role != "user" {
		t.Fatalf("remove: got %+v, %v", before, err)
	}
	_, err = s.RemoveMember(ctx, tn.ID, u.ID, ownerGuard, nil)
	wantCode(t, err, models.ENOTFOUND)
}

func testLastOwnerIsKept(t *testing.T, s *store.Store) {
	owner, other := newUser(t, s, "user"), newUser(t, s, "user")
	tn := newTenant(t, s, owner)
	for name, patch := range map[string]models.MemberPatch{
		"demote": {Role: strp("admin")}, "deactivate": {IsActive: boolp(false)},
	} {
		_, err := s.PutMember(ctx, tn.ID, owner.ID, patch, ownerGuard, nil)
		if models.ErrorCode(err) != models.ECONFLICT {
			t.Errorf("%s the last owner: got %v, want conflict", name, err)
		}
	}
	_, err := s.RemoveMember(ctx, tn.ID, owner.ID, ownerGuard, nil)
	wantCode(t, err, models.ECONFLICT)
	// An inactive owner does not count.
	putMember(t, s, tn, other, "owner")
	if _, err := s.PutMember(ctx, tn.ID, other.ID, models.MemberPatch{IsActive: boolp(false)}, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.RemoveMember(ctx, tn.ID, owner.ID, ownerGuard, nil)
	wantCode(t, err, models.ECONFLICT)
	if _, err := s.PutMember(ctx, tn.ID, other.ID, models.MemberPatch{IsActive: boolp(true)}, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveMember(ctx, tn.ID, owner.ID, ownerGuard, nil); err != nil {
		t.Fatalf("remove one of two owners: %v", err)
	}
}

// deleteGuard is what DeleteUser is given by the policy: no admin role
// to keep here, and the tenant owners.
var deleteGuard = models.AdminGuard{TenantOwners: ownerGuard}

// testLastOwnerIsNotDeleted: deleting the account of a tenant's last
// active owner is 409 last_owner and deletes nothing; with a second
// owner, or once the tenant is gone, it goes through.
func testLastOwnerIsNotDeleted(t *testing.T, s *store.Store) {
	owner, other := newUser(t, s, "user"), newUser(t, s, "user")
	kept, gone := newTenant(t, s, owner), newTenant(t, s, owner)
	putMember(t, s, gone, other, "owner")
	err := s.DeleteUser(ctx, owner.ID, deleteGuard)
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.ECONFLICT || e.Reason != "last_owner" || !strings.Contains(e.Message, kept.Slug) {
		t.Fatalf("delete the last owner of %s: got %v, want conflict last_owner naming it", kept.Slug, err)
	}
	if _, err := s.UserByID(ctx, owner.ID); err != nil {
		t.Fatalf("the refused deletion deleted the user: %v", err)
	}
	if m, err := s.MemberOf(ctx, kept.ID, owner.ID); err != nil || m == nil || m.Role != "owner" {
		t.Fatalf("membership after the refused deletion: got %+v, %v; want owner", m, err)
	}
	putMember(t, s, kept, other, "owner")
	if err := s.DeleteUser(ctx, owner.ID, deleteGuard); err != nil {
		t.Fatalf("delete one of two owners: %v", err)
	}
	// other is now the last owner of both tenants; deleting one tenant
	// leaves the other still guarded.
	if _, err := s.DeleteTenant(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteUser(ctx, other.ID, deleteGuard), models.ECONFLICT)
}

// testOwnersDeletedAtOnce deletes a tenant's two owners at once, 20
// times: exactly one deletion may succeed, and one owner is left.
func testOwnersDeletedAtOnce(t *testing.T, s *store.Store) {
	for round := range 20 {
		a, b := newUser(t, s, "user"), newUser(t, s, "user")
		tn := newTenant(t, s, a)
		putMember(t, s, tn, b, "owner")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, u := range []*models.User{a, b} {
			wg.Go(func() { errs[i] = s.DeleteUser(ctx, u.ID, deleteGuard) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch models.ErrorCode(err) {
			case "":
				ok++
			case models.ECONFLICT:
			default:
				t.Fatalf("round %d: got %v, want success or conflict", round, err)
			}
		}
		owners, err := s.ListMembers(ctx, tn.ID, models.MemberFilter{Role: "owner", Limit: 10})
		if ok != 1 || err != nil || len(owners) != 1 {
			t.Fatalf("round %d: %d deletions succeeded and %d owners left (%v), want 1 and 1", round, ok, len(owners), err)
		}
	}
}

// testOwnersDemotingEachOther has two owners demote each other at once,
// 20 times: exactly one may succeed each time.
func testOwnersDemotingEachOther(t *testing.T, s *store.Store) {
	for round := range 20 {
		a, b := newUser(t, s, "user"), newUser(t, s, "user")
		tn := newTenant(t, s, a)
		putMember(t, s, tn, b, "owner")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, target := range []*models.User{b, a} {
			wg.Go(func() {
				if i == 0 {
					_, errs[i] = s.PutMember(ctx, tn.ID, target.ID, models.MemberPatch{Role: strp("admin")}, ownerGuard, nil)
				} else {
					_, errs[i] = s.RemoveMember(ctx, tn.ID, target.ID, ownerGuard, nil)
				}
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch models.ErrorCode(err) {
			case "":
				ok++
			case models.ECONFLICT:
			default:
				t.Fatalf("round %d: got %v, want success or conflict", round, err)
			}
		}
		owners, err := s.ListMembers(ctx, tn.ID, models.MemberFilter{Role: "owner", Limit: 10})
		if ok != 1 || err != nil || len(owners) != 1 || !owners[0].IsActive {
			t.Fatalf("round %d: %d succeeded and %d owners left (%v), want 1 and 1", round, ok, len(owners), err)
		}
	}
}

func testListMembers(t *testing.T, s *store.Store) {
	owner := newUser(t, s, "user")
	tn := newTenant(t, s, owner)
	var users []*models.User
	for i := range 5 {
		u := newUser(t, s, "user")
		users = append(users, u)
		putMember(t, s, tn, u, []string{"user", "readonly"}[i%2])
	}
	var ids []int64
	var after int64
	for {
		page, err := s.ListMembers(ctx, tn.ID, models.MemberFilter{AfterUserID: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 || len(ids) > 10 {
			break
		}
		for _, m := range page {
			if m.User == nil || m.User.Username == "" || m.User.PasswordHash != "" {
				t.Fatalf("member %d: got user %+v, want the account without its hash", m.UserID, m.User)
			}
			ids = append(ids, m.UserID)
			after = m.UserID
		}
	}
	if len(ids) != 6 || ids[0] != owner.ID {
		t.Errorf("pages: got %v, want the owner and 5 members", ids)
	}
	readonly, err := s.ListMembers(ctx, tn.ID, models.MemberFilter{Role: "readonly", Limit: 10})
	if err != nil || len(readonly) != 2 {
		t.Errorf("role filter: got %d, %v, want 2", len(readonly), err)
	}
	found, err := s.ListMembers(ctx, tn.ID, models.MemberFilter{Search: strings.ToUpper(users[2].Username), Limit: 10})
	if err != nil || len(found) != 1 || found[0].UserID != users[2].ID {
		t.Errorf("search: got %v, %v, want user %d", found, err, users[2].ID)
	}
	none, err := s.ListMembers(ctx, tn.ID, models.MemberFilter{Search: "%", Limit: 10})
	if err != nil || len(none) != 0 {
		t.Errorf("search %%: got %d, %v, want none", len(none), err)
	}
}

func testTenantStanding(t *testing.T, s *store.Store) {
	owner, u, stranger := newUser(t, s, "user"), newUser(t, s, "user"), newUser(t, s, "staff")
	tn := newTenant(t, s, owner)
	putMember(t, s, tn, u, "manager")
	standing := func(who *models.User) models.TenantContext {
		t.Helper()
		tc, err := s.TenantStanding(ctx, tn.ID, who.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tc
	}
	if got := standing(u); got != (models.TenantContext{TenantID: tn.ID, Role: "manager"}) {
		t.Errorf("member: got %+v", got)
	}
	if got := standing(stranger); got != (models.TenantContext{TenantID: tn.ID}) {
		t.Errorf("stranger: got %+v", got)
	}
	if _, err := s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{IsActive: boolp(false)}, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	if got := standing(u); got.Role != "" {
		t.Errorf("inactive member: got role %q, want none", got.Role)
	}
	grant := func(mode string, expires time.Time, ended bool) {
		t.Helper()
		var endedAt any
		if ended {
			endedAt = time.Now().UTC()
		}
		err := s.Exec(ctx, `INSERT INTO break_glass_grants (tenant_id, user_id, mode, reason, created_at, expires_at, ended_at)
			VALUES (?, ?, ?, 'test', ?, ?, ?)`, tn.ID, stranger.ID, mode, time.Now().UTC(), expires.UTC(), endedAt)
		if err != nil {
			t.Fatal(err)
		}
	}
	grant("write", time.Now().Add(-time.Minute), false)
	grant("write", time.Now().Add(time.Hour), true)
	if got := standing(stranger); got.BreakGlass != "" {
		t.Errorf("expired and ended grants: got %q, want none", got.BreakGlass)
	}
	grant("read", time.Now().Add(time.Hour), false)
	if got := standing(stranger); got.BreakGlass != "read" {
		t.Errorf("read grant: got %q", got.BreakGlass)
	}
	grant("write", time.Now().Add(time.Hour), false)
	if got := standing(stranger); got.BreakGlass != "write" || got.Role != "" {
		t.Errorf("read and write grants: got %+v, want write and no role", got)
	}
}

func invite(t *testing.T, s *store.Store, tn *models.Tenant, email, role string, ttl time.Duration) *models.Invitation {
	t.Helper()
	inv, err := s.CreateInvitation(ctx, &models.Invitation{TenantID: tn.ID, Email: email, Role: role, ExpiresAt: time.Now().Add(ttl)})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func testInvitations(t *testing.T, s *store.Store) {
	owner, u := newUser(t, s, "user"), newUser(t, s, "user")
	tn := newTenant(t, s, owner)
	inv, err := s.CreateInvitation(ctx, &models.Invitation{TenantID: tn.ID, Email: "X@Example.com", Role: "manager", ExpiresAt: time.Now().Add(time.Hour), CreatedBy: owner.ID})
	if err != nil || inv.ID == 0 || len(inv.Token) < 20 {
		t.Fatalf("create: got %+v, %v", inv, err)
	}
	// The token is stored only as a hash: no column of any row holds it.
	rows, err := s.Strings(ctx, "SELECT email || role || token_hash FROM tenant_invitations")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(r, inv.Token) {
			t.Fatalf("the token is stored in plain text: %q", r)
		}
	}
	pending, err := s.ListInvitations(ctx, tn.ID, models.InvitationFilter{Limit: 10})
	if err != nil || len(pending) != 1 || pending[0].Token != "" || pending[0].Email != "X@Example.com" {
		t.Fatalf("pending: got %v, %v", pending, err)
	}
	got, ch, err := s.AcceptInvitation(ctx, inv.Token, u) // u's email is x@example.com
	if err != nil || got.ID != inv.ID || ch.Before != nil || ch.After.Role != "manager" || ch.After.InvitedBy != owner.ID {
		t.Fatalf("accept: got %+v, %+v, %v", got, ch, err)
	}
	if m, err := s.MemberOf(ctx, tn.ID, u.ID); err != nil || m.Role != "manager" || !m.IsActive {
		t.Errorf("membership: got %+v, %v", m, err)
	}
	_, _, err = s.AcceptInvitation(ctx, inv.Token, u)
	wantCode(t, err, models.ENOTFOUND)
	if pending, _ := s.ListInvitations(ctx, tn.ID, models.InvitationFilter{Limit: 10}); len(pending) != 0 {
		t.Errorf("pending after acceptance: got %d, want 0", len(pending))
	}
	// An active member cannot accept another invitation; it stays pending.
	again := invite(t, s, tn, u.Email, "admin", time.Hour)
	_, _, err = s.AcceptInvitation(ctx, again.Token, u)
	wantCode(t, err, models.ECONFLICT)
	// A former member, made inactive, can.
	if _, err := s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{IsActive: boolp(false)}, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	if _, ch, err := s.AcceptInvitation(ctx, again.Token, u); err != nil || ch.Before == nil || ch.After.Role != "admin" || !ch.After.IsActive {
		t.Errorf("accept as a former member: got %+v, %v", ch, err)
	}
}

func testInvitationRefusals(t *testing.T, s *store.Store) {
	owner, u := newUser(t, s, "user"), newUser(t, s, "user")
	tn := newTenant(t, s, owner)
	expired := invite(t, s, tn, u.Email, "user", -time.Second)
	revoked := invite(t, s, tn, u.Email, "user", time.Hour)
	wrongEmail := invite(t, s, tn, "someone@else.example", "user", time.Hour)
	refuse := models.Errorf(models.EFORBIDDEN, "no")
	if _, err := s.RevokeInvitation(ctx, tn.ID, revoked.ID, owner.ID, func(*models.Invitation) error { return refuse }); err != refuse {
		t.Fatalf("refused revoke: got %v", err)
	}
	other := newTenant(t, s, nil)
	_, err := s.RevokeInvitation(ctx, other.ID, revoked.ID, owner.ID, nil)
	wantCode(t, err, models.ENOTFOUND)
	if before, err := s.RevokeInvitation(ctx, tn.ID, revoked.ID, owner.ID, nil); err != nil || before.ID != revoked.ID {
		t.Fatalf("revoke: got %+v, %v", before, err)
	}
	_, err = s.RevokeInvitation(ctx, tn.ID, revoked.ID, owner.ID, nil)
	wantCode(t, err, models.ENOTFOUND)
	var msgs []string
	for name, token := range map[string]string{
		"expired": expired.Token, "revoked": revoked.Token, "wrong email": wrongEmail.Token, "unknown": "NOTATOKEN", "empty": "",
	} {
		_, _, err := s.AcceptInvitation(ctx, token, u)
		if models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("%s: got %v, want not found", name, err)
			continue
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		if m != msgs[0] {
			t.Errorf("refusals differ: %q and %q", m, msgs[0])
		}
	}
	if _, err := s.MemberOf(ctx, tn.ID, u.ID); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("membership after refusals: got %v, want none", err)
	}
}

func testAuditCarriesTenant(t *testing.T, s *store.Store) {
	tn := newTenant(t, s, nil)
	at := time.Now().UTC().Truncate(time.Microsecond)
	err := s.InsertAuditEvents(ctx, []models.AuditEvent{
		{At: at, Action: "tenant.update", Target: "tenants/" + tn.Slug, Result: models.AuditSuccess, TenantID: tn.ID},
		{At: at, Action: "user.update", Target: "users/1", Result: models.AuditSuccess},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAuditEvents(ctx, models.AuditFilter{TenantID: tn.ID, Limit: 10})
	if err != nil || len(got) != 1 || got[0].TenantID != tn.ID || got[0].Action != "tenant.update" {
		t.Fatalf("tenant's trail: got %+v, %v", got, err)
	}
}

// testTenantAccessCache checks that TenantAccess serves from the user
// cache, and that every membership or tenant change drops what it served.
func testTenantAccessCache(t *testing.T, s *store.Store) {
	store.ForceUserCacheLive(s)
	owner, u := newUser(t, s, "user"), newUser(t, s, "user")
	tn := newTenant(t, s, owner)
	putMember(t, s, tn, u, "user")
	if _, err := s.CurrentUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	access := func() (*models.Tenant, models.TenantContext) {
		t.Helper()
		got, standing, err := s.TenantAccess(ctx, tn.Slug, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got, standing
	}
	if got, standing := access(); got.ID != tn.ID || standing.Role != "user" || standing.TenantID != tn.ID {
		t.Fatalf("first read: got %+v, %+v", got, standing)
	}
	// A write behind the store's back is not seen: the answer is cached.
	if err := s.Exec(ctx, "UPDATE tenant_members SET role = 'readonly' WHERE tenant_id = ? AND user_id = ?", tn.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, standing := access(); standing.Role != "user" {
		t.Fatalf("cached read: got role %q, want the cached user", standing.Role)
	}
	if _, err := s.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{Role: strp("manager")}, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	s.CurrentUser(ctx, u.ID)
	if _, standing := access(); standing.Role != "manager" {
		t.Errorf("after a membership change: got role %q, want manager", standing.Role)
	}
	if _, err := s.UpdateTenant(ctx, tn.ID, models.TenantPatch{IsActive: boolp(false)}); err != nil {
		t.Fatal(err)
	}
	s.CurrentUser(ctx, u.ID)
	if got, _ := access(); got.IsActive {
		t.Error("after deactivating the tenant: got it active")
	}
	if _, err := s.RemoveMember(ctx, tn.ID, u.ID, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	s.CurrentUser(ctx, u.ID)
	if _, standing := access(); standing.Role != "" {
		t.Errorf("after removal: got role %q, want none", standing.Role)
	}
	if _, err := s.DeleteTenant(ctx, tn.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.TenantAccess(ctx, tn.Slug, u.ID)
	wantCode(t, err, models.ENOTFOUND)
}

// TestTenantAccessAcrossReplicas: two replicas on one PostgreSQL
// database. A membership change or a tenant change made through A shows
// in B's cached TenantAccess within a second.
func TestTenantAccessAcrossReplicas(t *testing.T) {
	var target dbtest.Target
	for _, tg := range dbtest.Targets(t) {
		if tg.Name == "postgres" {
			target = tg
		}
	}
	if target.URL == "" {
		t.Skipf("PostgreSQL only; set %s", dbtest.EnvURL)
	}
	a := openCached(t, target.URL, store.Options{})
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := openCached(t, target.URL, store.Options{})
	followCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.FollowUserChanges(followCtx, "rolegate-test-tenants-"+strings.ToLower(rand.Text()[:8]), nil)
	}()
	t.Cleanup(func() { stop(); <-done })
	pollUntil(t, 5*time.Second, "B's listener connecting", b.UserCacheLive)

	owner, u := newUser(t, a, "user"), newUser(t, a, "user")
	tn := newTenant(t, a, owner)
	putMember(t, a, tn, u, "user")
	seenBy := func(want func(*models.Tenant, models.TenantContext) bool, what string) {
		t.Helper()
		pollUntil(t, time.Second, what, func() bool {
			if _, err := b.CurrentUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			got, standing, err := b.TenantAccess(ctx, tn.Slug, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return want(got, standing)
		})
	}
	seenBy(func(_ *models.Tenant, s models.TenantContext) bool { return s.Role == "user" }, "B reading the membership")
	if _, err := a.PutMember(ctx, tn.ID, u.ID, models.MemberPatch{Role: strp("admin")}, ownerGuard, nil); err != nil {
		t.Fatal(err)
	}
	seenBy(func(_ *models.Tenant, s models.TenantContext) bool { return s.Role == "admin" }, "B seeing the role change")
	if _, err := a.UpdateTenant(ctx, tn.ID, models.TenantPatch{IsActive: boolp(false)}); err != nil {
		t.Fatal(err)
	}
	seenBy(func(got *models.Tenant, _ models.TenantContext) bool { return !got.IsActive }, "B seeing the tenant deactivated")
}

// testInvitationRaces: a token accepted twice at once works once, and an
// acceptance racing the tenant's deletion either joins or finds nothing,
// never failing on the other's locks. 20 rounds.
func testInvitationRaces(t *testing.T, s *store.Store) {
	for round := range 20 {
		owner, u := newUser(t, s, "user"), newUser(t, s, "user")
		tn := newTenant(t, s, owner)
		inv := invite(t, s, tn, u.Email, "user", time.Hour)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, _, errs[i] = s.AcceptInvitation(ctx, inv.Token, u) })
		}
		wg.Wait()
		codes := []string{models.ErrorCode(errs[0]), models.ErrorCode(errs[1])}
		slices.Sort(codes)
		if codes[0] != "" || codes[1] != models.ENOTFOUND {
			t.Fatalf("round %d: two acceptances: got %v, want one success and one not found", round, errs)
		}
		other := invite(t, s, tn, "x@example.com", "readonly", time.Hour)
		stranger := newUser(t, s, "user") // x@example.com, like every test user
		wg.Go(func() { _, _, errs[0] = s.AcceptInvitation(ctx, other.Token, stranger) })
		wg.Go(func() { _, errs[1] = s.DeleteTenant(ctx, tn.ID) })
		wg.Wait()
		if c := models.ErrorCode(errs[0]); (c != "" && c != models.ENOTFOUND) || errs[1] != nil {
			t.Fatalf("round %d: acceptance and deletion at once: got %v and %v", round, errs[0], errs[1])
		}
	}
}
