package store_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestGroups runs the group membership tests on every database.
func TestGroups(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openCached(t, target.URL, store.Options{})
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			store.ForceUserCacheLive(s) // only this process's invalidations
			t.Run("AddListRemove", func(t *testing.T) { testGroupAddListRemove(t, s) })
			t.Run("Pages", func(t *testing.T) { testGroupPages(t, s) })
			t.Run("CachedUserCarriesGroups", func(t *testing.T) { testCachedUserCarriesGroups(t, s) })
			t.Run("MissingUser", func(t *testing.T) { testGroupMissingUser(t, s) })
			t.Run("DeletedUserLeaves", func(t *testing.T) { testGroupDeletedUserLeaves(t, s) })
		})
	}
}

func groupName() string { return "g" + strings.ToLower(rand.Text()[:10]) }

func testGroupAddListRemove(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	g := groupName()
	before := time.Now().Add(-time.Second)
	by := newUser(t, s, "admin")
	m, added, err := s.AddUserToGroup(ctx, u.ID, g, by.ID)
	if err != nil || !added {
		t.Fatalf("first add: got added=%v, %v; want added", added, err)
	}
	if m.User.ID != u.ID || m.User.Username != u.Username || m.Group != g || m.JoinedAt.Before(before) || m.User.PasswordHash != "" || m.AddedBy != by.ID {
		t.Errorf("first add: got %+v (user %+v), want user %d in %s joined now, without a hash", m, m.User, u.ID, g)
	}
	again, added, err := s.AddUserToGroup(ctx, u.ID, g, u.ID)
	if err != nil || added || !again.JoinedAt.Equal(m.JoinedAt) || again.AddedBy != by.ID {
		t.Fatalf("second add: got %+v, added=%v, %v; want the same membership, not added", again, added, err)
	}
	other := groupName()
	if _, _, err := s.AddUserToGroup(ctx, u.ID, other, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserGroups(ctx, u.ID)
	want := []string{g, other}
	slices.Sort(want)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("groups: got %v, %v; want %v", got, err, want)
	}
	if err := s.RemoveUserFromGroup(ctx, u.ID, g); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RemoveUserFromGroup(ctx, u.ID, g), models.ENOTFOUND)
	if got, err := s.UserGroups(ctx, u.ID); err != nil || !slices.Equal(got, []string{other}) {
		t.Fatalf("groups after removal: got %v, %v; want [%s]", got, err, other)
	}
	members, err := s.GroupMembers(ctx, models.GroupMemberFilter{Group: g, Limit: 10})
	if err != nil || len(members) != 0 {
		t.Fatalf("members after removal: got %+v, %v; want none", members, err)
	}
	if got, err := s.UserGroups(ctx, newUser(t, s, "user").ID); err != nil || got != nil {
		t.Errorf("groups of a user in none: got %#v, %v; want nil", got, err)
	}
}

func testGroupPages(t *testing.T, s *store.Store) {
	g := groupName()
	var ids []int64
	for range 5 {
		u := newUser(t, s, "user")
		if _, _, err := s.AddUserToGroup(ctx, u.ID, g, 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if _, _, err := s.AddUserToGroup(ctx, newUser(t, s, "user").ID, groupName(), 0); err != nil {
		t.Fatal(err)
	}
	var got []int64
	after := int64(0)
	for {
		page, err := s.GroupMembers(ctx, models.GroupMemberFilter{Group: g, AfterID: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page: got %d members, want at most 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append(got, m.User.ID)
		}
		after = page[len(page)-1].User.ID
	}
	if !slices.Equal(got, ids) {
		t.Errorf("paged members: got %v, want %v", got, ids)
	}
	_, err := s.GroupMembers(ctx, models.GroupMemberFilter{Group: g, Limit: 0})
	wantCode(t, err, models.EINVALID)
}

// A group change shows in the user's next CurrentUser, though the cache
// would serve the user for an hour otherwise.
func testCachedUserCarriesGroups(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	g := groupName()
	cachedUser(t, s, u.ID)
	if _, _, err := s.AddUserToGroup(ctx, u.ID, g, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.CurrentUser(ctx, u.ID)
	if err != nil || !slices.Equal(got.Groups, []string{g}) {
		t.Fatalf("after the add: got %+v, %v; want groups [%s]", got, err, g)
	}
	got.Groups[0] = "changed by the caller"
	cached := cachedUser(t, s, u.ID)
	if !slices.Equal(cached.Groups, []string{g}) {
		t.Fatalf("cached copy: got groups %v, want [%s] whatever a caller did to its copy", cached.Groups, g)
	}
	if err := s.RemoveUserFromGroup(ctx, u.ID, g); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CurrentUser(ctx, u.ID); err != nil || got.Groups != nil {
		t.Fatalf("after the removal: got %+v, %v; want no groups", got, err)
	}
}

func testGroupMissingUser(t *testing.T, s *store.Store) {
	_, _, err := s.AddUserToGroup(ctx, 1<<40, groupName(), 0)
	wantCode(t, err, models.ENOTFOUND)
	wantCode(t, s.RemoveUserFromGroup(ctx, 1<<40, groupName()), models.ENOTFOUND)
}

func testGroupDeletedUserLeaves(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	g := groupName()
	if _, _, err := s.AddUserToGroup(ctx, u.ID, g, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(context.Background(), u.ID, models.AdminGuard{}); err != nil {
		t.Fatal(err)
	}
	members, err := s.GroupMembers(ctx, models.GroupMemberFilter{Group: g, Limit: 10})
	if err != nil || len(members) != 0 {
		t.Errorf("members after the user's deletion: got %+v, %v; want none", members, err)
	}
}
