package store_test

import (
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestConsoleSessions: a console session is found by its hash only, its
// last use moves until it is revoked, "end all sessions" ends the API's
// and the console's sessions and the user's access tokens, and ended
// sessions are purged.
func TestConsoleSessions(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) { testConsoleSessions(t, freshStore(t, target)) })
	}
}

func testConsoleSessions(t *testing.T, s *store.Store) {
	{
		ctx := t.Context()
		u := newUser(t, s, "admin")
		now := time.Now().UTC().Truncate(time.Second)
		cs := models.ConsoleSession{IDHash: "a1", UserID: u.ID, CSRFSecret: "s", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateConsoleSession(ctx, cs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsoleSession(ctx, "a2"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("got %v for an unknown hash, want ENOTFOUND", err)
		}
		if err := s.TouchConsoleSession(ctx, "a1", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := s.ConsoleSession(ctx, "a1")
		if err != nil || !got.LastSeenAt.Equal(now.Add(time.Minute)) || got.RevokedAt != nil {
			t.Fatalf("got %+v, %v; want last seen a minute later, not revoked", got, err)
		}
		if err := s.CreateSession(ctx, models.Session{ID: "api1", UserID: u.ID, CreatedAt: now},
			models.RefreshToken{Hash: "h1", SessionID: "api1", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		active, err := s.ActiveSessions(ctx, u.ID, now)
		if err != nil || len(active.API) != 1 || len(active.Console) != 1 {
			t.Fatalf("got %+v, %v; want one of each", active, err)
		}
		before, _ := s.UserByID(ctx, u.ID)
		n, err := s.EndUserSessions(ctx, u.ID, now.Add(2*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("got %d, %v; want 2 sessions ended", n, err)
		}
		if after, _ := s.UserByID(ctx, u.ID); after.TokenEpoch != before.TokenEpoch+1 {
			t.Errorf("got token epoch %d, want %d", after.TokenEpoch, before.TokenEpoch+1)
		}
		if err := s.TouchConsoleSession(ctx, "a1", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.ConsoleSession(ctx, "a1")
		if got.RevokedAt == nil || !got.LastSeenAt.Equal(now.Add(time.Minute)) {
			t.Errorf("got %+v, want revoked and not touched after", got)
		}
		if _, err := s.EndUserSessions(ctx, 999999, now); models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("got %v for an unknown user, want ENOTFOUND", err)
		}
		if n, err := s.PurgeConsoleSessions(ctx, now.Add(3*time.Minute)); err != nil || n != 1 {
			t.Errorf("purge: got %d, %v; want 1", n, err)
		}
	}
}
