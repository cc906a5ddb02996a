package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// freshStore opens and migrates a new database for target.
func freshStore(t testing.TB, target dbtest.Target) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), target.URL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func imported(id int64, username string) *models.User {
	joined := time.Date(2020, 2, 29, 23, 59, 58, 123456000, time.UTC)
	return &models.User{ID: id, Username: username, Email: username + "@example.com", Role: "user", IsActive: true,
		PasswordHash: "pbkdf2_sha256$1$x$y", DateJoined: joined}
}

func importBatch(t *testing.T, s *store.Store, users ...*models.User) []store.ImportOutcome {
	t.Helper()
	out, err := s.ImportUsers(ctx, users)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if len(out) != len(users) {
		t.Fatalf("got %d outcomes, want %d", len(out), len(users))
	}
	return out
}

func wantResults(t *testing.T, got []store.ImportOutcome, want ...store.ImportResult) {
	t.Helper()
	for i := range want {
		if got[i].Result != want[i] {
			t.Errorf("user %d: got result %d (%q), want %d", i, got[i].Result, got[i].Reason, want[i])
		}
	}
}

func TestImportUsers(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			login := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
			withLogin := imported(100, "Zoë")
			withLogin.LastLogin = &login
			out := importBatch(t, s, imported(5, "a"), withLogin, imported(7, "A"), imported(5, "c"))
			wantResults(t, out, store.Imported, store.Imported, store.Conflicted, store.Conflicted)

			got, err := s.UserByID(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != "Zoë" || got.LastLogin == nil || !got.LastLogin.Equal(login) || !got.DateJoined.Equal(withLogin.DateJoined) || got.PasswordHash != withLogin.PasswordHash {
				t.Errorf("stored user: got %+v, want %+v", got, withLogin)
			}
			created, err := s.CreateUser(ctx, &models.User{Username: "new", Role: "user", PasswordHash: "x"})
			if err != nil || created.ID != 101 {
				t.Fatalf("create after import: got id %v (%v), want 101", created, err)
			}

			out = importBatch(t, s, imported(5, "a"), imported(100, "zoë"), imported(6, "ZOË"), imported(101, "zz"))
			wantResults(t, out, store.Unchanged, store.Unchanged, store.Conflicted, store.Conflicted)

			// Ids are never given out twice, even after an import of lower ids.
			if err := s.DeleteUser(ctx, 101, models.AdminGuard{}); err != nil {
				t.Fatal(err)
			}
			wantResults(t, importBatch(t, s, imported(50, "m")), store.Imported)
			again, err := s.CreateUser(ctx, &models.User{Username: "newer", Role: "user", PasswordHash: "x"})
			if err != nil || again.ID != 102 {
				t.Fatalf("create after deleting 101: got %v (%v), want id 102", again, err)
			}
		})
	}
}
