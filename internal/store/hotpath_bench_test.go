package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/benchcpu"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// The store's three hot operations, on every database under test: the
// user read behind GET /me/ on a cache miss, a page of GET /v1/users, and
// the token rotation of POST /v1/auth/refresh. docs/performance.md quotes
// them (issue 11). Each reports process CPU per operation next to wall
// time, which on a shared machine also counts other processes' turns.

func BenchmarkUserByID(b *testing.B) {
	benchEach(b, func(b *testing.B, s *store.Store) {
		u := benchUsers(b, s, 1)[0]
		cpu := benchcpu.Start()
		for b.Loop() {
			if _, err := s.UserByID(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b)
	})
}

func BenchmarkListUsers(b *testing.B) {
	benchEach(b, func(b *testing.B, s *store.Store) {
		benchUsers(b, s, 150)
		f := models.UserFilter{Limit: 100}
		cpu := benchcpu.Start()
		for b.Loop() {
			got, err := s.ListUsers(ctx, f)
			if err != nil || len(got) != 100 {
				b.Fatalf("got %d users, %v; want 100", len(got), err)
			}
		}
		cpu.Report(b)
	})
}

func BenchmarkRotateRefreshToken(b *testing.B) {
	benchEach(b, func(b *testing.B, s *store.Store) {
		u := benchUsers(b, s, 1)[0]
		sess := models.Session{ID: fmt.Sprint("bench-session-", next()), UserID: u.ID, CreatedAt: time.Now()}
		tok := models.RefreshToken{Hash: hash(sess.ID), SessionID: sess.ID, ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateSession(ctx, sess, tok); err != nil {
			b.Fatal(err)
		}
		n := 0
		cpu := benchcpu.Start()
		for b.Loop() {
			n++
			next := models.RefreshToken{Hash: hash(fmt.Sprint(sess.ID, "-", n)), ExpiresAt: tok.ExpiresAt}
			if _, err := s.RotateRefreshToken(ctx, tok.Hash, next, time.Now()); err != nil {
				b.Fatal(err)
			}
			tok = next
		}
		cpu.Report(b)
	})
}

// benchEach runs bench on a migrated fresh store of each database. With
// -count, bench runs count times on the same store.
func benchEach(b *testing.B, bench func(*testing.B, *store.Store)) {
	for _, target := range dbtest.Targets(b) {
		b.Run(target.Name, func(b *testing.B) { bench(b, freshStore(b, target)) })
	}
}

// benchUsers creates n active users.
func benchUsers(b *testing.B, s *store.Store, n int) []*models.User {
	b.Helper()
	out := make([]*models.User, n)
	for i := range out {
		u, err := s.CreateUser(ctx, &models.User{
			Username: fmt.Sprintf("bench%d-%04d", next(), i), Email: fmt.Sprintf("bench%04d@example.com", i),
			FirstName: "Bench", LastName: "User", Role: "user", IsActive: true, PasswordHash: "$argon2id$placeholder",
		})
		if err != nil {
			b.Fatalf("create user: %v", err)
		}
		out[i] = u
	}
	return out
}
