package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/models"
)

// BenchmarkVerifyAccess measures verifying an access token that was seen
// before, as on every request of a client after its first: a sha256 and a
// cache lookup (with the expiry check).
func BenchmarkVerifyAccess(b *testing.B) {
	benchmarkVerify(b, true)
}

// BenchmarkVerifyAccessFirstUse measures verifying an access token the
// first time: one Ed25519 signature check and the claim checks.
func BenchmarkVerifyAccessFirstUse(b *testing.B) {
	benchmarkVerify(b, false)
}

func benchmarkVerify(b *testing.B, cached bool) {
	keys, err := auth.LoadOrCreateKeys(filepath.Join(b.TempDir(), "keys.json"))
	if err != nil {
		b.Fatal(err)
	}
	tokens := auth.NewTokens(auth.TokenConfig{Issuer: "rolegate", Audience: "rolegate", AccessTTL: 5 * time.Minute, RefreshTTL: time.Hour}, keys)
	issued, err := tokens.IssueAccess(&models.User{ID: 42, Role: "user", AccountKey: "k42"})
	if err != nil {
		b.Fatal(err)
	}
	cfg := auth.TokenConfig{Issuer: "rolegate", Audience: "rolegate", AccessTTL: 5 * time.Minute, RefreshTTL: time.Hour}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if !cached {
			tokens = auth.NewTokens(cfg, keys) // an empty cache
		}
		if _, err := tokens.Verify(issued.Token); err != nil {
			b.Fatal(err)
		}
	}
	cpu.Report(b)
}

// BenchmarkHashPassword measures one argon2id hash at the production
// parameters (OWASP's minimum, the defaults), which bounds a login.
func BenchmarkHashPassword(b *testing.B) {
	h, err := auth.NewHasher(auth.OWASP, 1, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), auth.Requester{}, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	cpu.Report(b)
}

// acceptingSessions is a session store that accepts every refresh token,
// so that BenchmarkRefreshTokenWork measures rolegate's own work.
type acceptingSessions struct{ u *models.User }

func (s acceptingSessions) CreateSession(context.Context, models.Session, models.RefreshToken) error {
	return nil
}

func (s acceptingSessions) RotateRefreshToken(context.Context, string, models.RefreshToken, time.Time) (*models.User, error) {
	return s.u, nil
}

func (s acceptingSessions) EndSession(context.Context, string, time.Time) error { return nil }

// BenchmarkRefreshTokenWork measures the token work of one refresh, the
// database left out: checking the presented refresh token, making its
// successor, and signing a new access token.
func BenchmarkRefreshTokenWork(b *testing.B) {
	keys, err := auth.LoadOrCreateKeys(filepath.Join(b.TempDir(), "keys.json"))
	if err != nil {
		b.Fatal(err)
	}
	tokens := auth.NewTokens(auth.TokenConfig{Issuer: "rolegate", Audience: "rolegate", AccessTTL: 5 * time.Minute, RefreshTTL: time.Hour}, keys)
	u := &models.User{ID: 42, Role: "user", AccountKey: "k42"}
	svc := auth.NewService(nil, acceptingSessions{u}, nil, tokens, auth.PasswordPolicy{})
	pair, err := svc.StartSession(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if pair, err = svc.Refresh(context.Background(), pair.Refresh); err != nil {
			b.Fatal(err)
		}
	}
	cpu.Report(b)
}
