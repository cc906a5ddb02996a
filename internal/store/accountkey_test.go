package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestAccountKeys checks that every account gets a random key of its own
// when it is created or imported, which nothing but a new account
// changes, and that a deleted user's id is never handed out again by the
// database, only brought back by an import that says so.
func TestAccountKeys(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			a, err := s.CreateUser(ctx, &models.User{Username: "a", Role: "user", IsActive: true, PasswordHash: "x", AccountKey: "chosen-by-caller"})
			if err != nil {
				t.Fatal(err)
			}
			b := newUser(t, s, "user")
			if a.AccountKey == "" || a.AccountKey == "chosen-by-caller" || a.AccountKey == b.AccountKey {
				t.Fatalf("created keys: got %q and %q, want two new random keys", a.AccountKey, b.AccountKey)
			}
			for name, read := range map[string]func() (*models.User, error){
				"UserByID":       func() (*models.User, error) { return s.UserByID(ctx, a.ID) },
				"CurrentUser":    func() (*models.User, error) { return s.CurrentUser(ctx, a.ID) },
				"UserByUsername": func() (*models.User, error) { return s.UserByUsername(ctx, "a") },
			} {
				if got, err := read(); err != nil || got.AccountKey != a.AccountKey {
					t.Errorf("%s: got %+v, %v; want key %q", name, got, err, a.AccountKey)
				}
			}
			h := "$argon2id$changed"
			change, err := s.UpdateUser(ctx, a.ID, models.UserPatch{PasswordHash: &h}, models.AdminGuard{}, nil)
			changed := change.After
			if err != nil || changed.AccountKey != a.AccountKey || changed.TokenEpoch != a.TokenEpoch+1 {
				t.Errorf("password change: got %+v, %v; want the same key and the next epoch", changed, err)
			}
			sess, tok := session(t, s, a)
			rotated, err := s.RotateRefreshToken(ctx, tok.Hash, nextToken(sess, "k"), time.Now())
			if err != nil || rotated.AccountKey != a.AccountKey {
				t.Errorf("refresh: got %+v, %v; want the user with key %q", rotated, err, a.AccountKey)
			}

			// The database never gives a deleted user's id out again, even
			// the highest one.
			if err := s.DeleteUser(ctx, b.ID, models.AdminGuard{}); err != nil {
				t.Fatal(err)
			}
			c := newUser(t, s, "user")
			if c.ID <= b.ID {
				t.Errorf("user created after deleting user %d: got id %d, want a new id", b.ID, c.ID)
			}

			// An import makes new accounts, and says when one takes a
			// deleted user's id.
			in := imported(b.ID, "b-again")
			in.AccountKey = b.AccountKey
			fresh := imported(c.ID+100, "never-deleted")
			wantResults(t, importBatch(t, s, in, fresh), store.Revived, store.Imported)
			revived, err := s.UserByID(ctx, b.ID)
			if err != nil || revived.AccountKey == "" || revived.AccountKey == b.AccountKey {
				t.Errorf("revived user %d: got %+v, %v; want a new key, not %q", b.ID, revived, err, b.AccountKey)
			}
			if got, err := s.UserByID(ctx, fresh.ID); err != nil || got.AccountKey == "" {
				t.Errorf("imported user: got %+v, %v; want a key", got, err)
			}
			wantResults(t, importBatch(t, s, imported(b.ID, "b-again")), store.Unchanged)
		})
	}
}

// TestUpgradeGivesEveryAccountAKey migrates a database written by the
// release before migration 0007, and back: existing and later rows
// written without a key get distinct keys, the sessions of the old token
// format end, and the down migration gives the old binary its sessions
// back.
func TestUpgradeGivesEveryAccountAKey(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s, err := store.Open(ctx, target.URL, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.MigrateTo(ctx, "0005_search_index"); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Second)
			oldInsert := func(name string) {
				t.Helper()
				if err := s.Exec(ctx, "INSERT INTO users (username, username_key, role, password_hash, date_joined) VALUES (?, ?, 'user', 'x', ?)", name, name, now); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 3 {
				oldInsert(fmt.Sprint("old", i))
			}
			// Read as the old binary would: the store's own lookups need
			// the columns of later migrations.
			oldID, err := s.Strings(ctx, "SELECT CAST(id AS TEXT) FROM users WHERE username = 'old0'")
			if err != nil || len(oldID) != 1 {
				t.Fatalf("old0's id: got %q, %v", oldID, err)
			}
			for _, sess := range []struct {
				id      string
				revoked any
				reason  string
			}{{"open", nil, ""}, {"ended", now.Add(-time.Hour), "logout"}} {
				if err := s.Exec(ctx, "INSERT INTO sessions (id, user_id, created_at, revoked_at, revoke_reason) VALUES (?, ?, ?, ?, ?)", sess.id, oldID[0], now, sess.revoked, sess.reason); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Exec(ctx, "INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (?, 'open', ?)", hash("old-jti"), now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}

			if err := s.MigrateTo(ctx, "0007_account_keys"); err != nil {
				t.Fatal(err)
			}
			oldInsert("written-by-the-old-binary-after-the-upgrade")
			keys, err := s.Strings(ctx, "SELECT account_key FROM users")
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(keys)
			if len(keys) != 4 || slices.Contains(keys, "") || len(slices.Compact(slices.Clone(keys))) != 4 {
				t.Errorf("keys after the upgrade: got %q, want 4 distinct keys", keys)
			}
			open, err := s.SessionByID(ctx, "open")
			if err != nil || open.RevokedAt == nil {
				t.Errorf("session open before the upgrade: got %+v, %v; want it ended", open, err)
			}
			_, err = s.RotateRefreshToken(ctx, hash("old-jti"), models.RefreshToken{Hash: hash("next"), SessionID: "open", ExpiresAt: now.Add(time.Hour)}, time.Now())
			wantCode(t, err, models.EUNAUTHORIZED)
			reasons, err := s.Strings(ctx, "SELECT revoke_reason FROM sessions ORDER BY id")
			if err != nil || !slices.Equal(reasons, []string{"logout", "upgrade_0007"}) {
				t.Errorf("revoke reasons (ended, open): got %q, %v; want the old one kept", reasons, err)
			}

			if undone, err := s.MigrateDown(ctx); err != nil || undone != "0007_account_keys" {
				t.Fatalf("migrate down: rolled back %q, %v; want 0007_account_keys", undone, err)
			}
			oldInsert("written-after-the-rollback")
			open, err = s.SessionByID(ctx, "open")
			if err != nil || open.RevokedAt != nil {
				t.Errorf("session after the rollback: got %+v, %v; want it open again", open, err)
			}
			if ended, err := s.SessionByID(ctx, "ended"); err != nil || ended.RevokedAt == nil {
				t.Errorf("session ended before the upgrade, after the rollback: got %+v, %v; want it still ended", ended, err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate again after the rollback: %v", err)
			}
		})
	}
}

// TestPasswordHashSamples checks that the store names one stored hash of
// each kind (algorithm and parameters), for the hasher to measure.
func TestPasswordHashSamples(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			hashes := []string{
				"$argon2id$v=19$m=19456,t=2,p=1$c2FsdEE$a2V5QQ", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdEI$a2V5Qg",
				"$argon2id$v=19$m=65536,t=3,p=1$c2FsdEE$a2V5QQ",
				"pbkdf2_sha256$870000$s1$k1=", "pbkdf2_sha256$870000$s2$k2=", "pbkdf2_sha256$260000$s$k=",
				"argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$a2V5",
				"!unusable0123456789",
			}
			for i, h := range hashes {
				if _, err := s.CreateUser(ctx, &models.User{Username: fmt.Sprint("hash", i), Role: "user", PasswordHash: h}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.PasswordHashSamples(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, h := range got {
				for _, prefix := range []string{"$argon2id$v=19$m=19456,t=2,p=1$", "$argon2id$v=19$m=65536,t=3,p=1$", "pbkdf2_sha256$870000$", "pbkdf2_sha256$260000$", "argon2$argon2id$v=19$m=102400,t=2,p=8$", "!unusable"} {
					if strings.HasPrefix(h, prefix) {
						kinds[prefix]++
					}
				}
			}
			if len(got) != 6 || len(kinds) != 6 {
				t.Errorf("samples: got %q, want one hash of each of the 6 kinds", got)
			}
			if few, err := s.PasswordHashSamples(ctx, 2); err != nil || len(few) != 2 {
				t.Errorf("samples with limit 2: got %q, %v", few, err)
			}
		})
	}
}
