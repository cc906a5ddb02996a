package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

func testPolicyVersions(t *testing.T, s *store.Store) {
	if _, err := s.LatestPolicyVersion(ctx); !isCode(err, models.ENOTFOUND) {
		t.Fatalf("latest of none: got %v, want not found", err)
	}
	if id, err := s.LatestPolicyVersionID(ctx); err != nil || id != 0 {
		t.Fatalf("latest id of none: got %d, %v; want 0", id, err)
	}
	var listener *store.Listener
	if s.Dialect() == store.Postgres {
		l, err := s.ListenPolicy(ctx, "rolegate-store-test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		listener = l
	}
	a := publishVersion(t, s, "abcd1111", "p, admin, users, read, any\n")
	b := publishVersion(t, s, "abcd2222", "p, admin, users, list, any\n")
	again := publishVersion(t, s, a.Version, a.Policy) // a rollback to a
	if !(a.ID < b.ID && b.ID < again.ID) {
		t.Errorf("ids: got %d, %d, %d; want increasing", a.ID, b.ID, again.ID)
	}
	if listener != nil {
		// The channel is shared by every schema of the database, so
		// other test packages' versions may come too; skip them.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var got []string
		for len(got) < 3 {
			v, err := listener.Wait(wctx)
			if err != nil {
				t.Fatalf("notifications: got %q, then %v; want a, b, a", got, err)
			}
			if strings.HasPrefix(v, "abcd") {
				got = append(got, v)
			}
		}
		if want := []string{a.Version, b.Version, a.Version}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("notifications: got %q, want %q", got, want)
		}
	}
	latest, err := s.LatestPolicyVersion(ctx)
	if err != nil || latest.ID != again.ID || latest.Policy != a.Policy || latest.Model != "model text" || latest.Tests != "tests text" {
		t.Errorf("latest: got %+v, %v; want row %d with a's text", latest, err, again.ID)
	}
	if id, err := s.LatestPolicyVersionID(ctx); err != nil || id != again.ID {
		t.Errorf("latest id: got %d, %v; want %d", id, err, again.ID)
	}
	list, err := s.ListPolicyVersions(ctx, 2)
	if err != nil || len(list) != 2 || list[0].ID != again.ID || list[1].ID != b.ID || list[0].Comment != "comment "+a.Version {
		t.Errorf("list: got %+v, %v; want rows %d, %d newest first", list, err, again.ID, b.ID)
	}
	// "abcd" starts both versions; "abcd1" only a, whose newest row wins.
	if _, err := s.PolicyVersionByPrefix(ctx, "abcd"); !isCode(err, models.EINVALID) || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("ambiguous prefix: got %v, want EINVALID ambiguous", err)
	}
	if got, err := s.PolicyVersionByPrefix(ctx, "ABCD1"); err != nil || got.ID != again.ID {
		t.Errorf("prefix abcd1: got %+v, %v; want row %d", got, err, again.ID)
	}
	if got, err := s.PolicyVersionByPrefix(ctx, b.Version); err != nil || got.ID != b.ID || got.Policy != b.Policy {
		t.Errorf("full version: got %+v, %v; want row %d", got, err, b.ID)
	}
	for _, bad := range []string{"abc", "abcd%", "zzzz", "ab_d1"} {
		if _, err := s.PolicyVersionByPrefix(ctx, bad); !isCode(err, models.EINVALID) {
			t.Errorf("prefix %q: got %v, want EINVALID", bad, err)
		}
	}
	if _, err := s.PolicyVersionByPrefix(ctx, "ffff"); !isCode(err, models.ENOTFOUND) {
		t.Errorf("unknown prefix: got %v, want not found", err)
	}
}

func publishVersion(t *testing.T, s *store.Store, version, policy string) models.PolicyVersion {
	t.Helper()
	before := time.Now().Add(-time.Second)
	v, err := s.PublishPolicyVersion(ctx, models.PolicyVersion{
		Version: version, Model: "model text", Policy: policy, Routes: "routes text", Tests: "tests text",
		PublishedBy: "alice", Comment: "comment " + version,
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == 0 || v.PublishedAt.Before(before) || v.PublishedBy != "alice" {
		t.Fatalf("published: got %+v, want an id, now and alice", v)
	}
	return v
}

func isCode(err error, code string) bool {
	var me *models.Error
	return errors.As(err, &me) && me.Code == code
}
