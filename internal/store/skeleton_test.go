package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// cyrillicA looks like a Latin "a".
const cyrillicA = "\u0430"

const (
	takenMessage     = "A user with that username already exists."
	lookalikeMessage = "A user with a username that looks the same already exists."
)

func TestLookalikeUsernames(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			t.Run("CreateAndRename", func(t *testing.T) { testLookalikeCreateAndRename(t, s) })
			t.Run("ConcurrentCreatesOneWins", func(t *testing.T) { testConcurrentLookalikeCreates(t, s) })
			t.Run("Upgrade", func(t *testing.T) { testSkeletonUpgrade(t, target) })
		})
	}
}

func wantUsernameError(t *testing.T, err error, message string) {
	t.Helper()
	wantCode(t, err, models.EINVALID)
	if got := models.AsError(err).Fields["username"]; len(got) != 1 || got[0] != message {
		t.Fatalf("username error: got %v, want [%q]", got, message)
	}
}

func testLookalikeCreateAndRename(t *testing.T, s *store.Store) {
	base := fmt.Sprintf("admin%d", next())
	admin, err := s.CreateUser(ctx, &models.User{Username: base, Role: "admin", IsActive: true, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	spoof := cyrillicA + base[1:]
	_, err = s.CreateUser(ctx, &models.User{Username: spoof, Role: "user", IsActive: true, PasswordHash: "x"})
	wantUsernameError(t, err, lookalikeMessage)
	_, err = s.CreateUser(ctx, &models.User{Username: strings.ToUpper(base), Role: "user", IsActive: true, PasswordHash: "x"})
	wantUsernameError(t, err, takenMessage)

	// A rename into a lookalike is refused and changes nothing.
	other := newUser(t, s, "user")
	_, err = s.UpdateUser(ctx, other.ID, models.UserPatch{Username: &spoof}, models.AdminGuard{}, nil)
	wantUsernameError(t, err, lookalikeMessage)
	if got, err := s.UserByID(ctx, other.ID); err != nil || got.Username != other.Username {
		t.Fatalf("after the refused rename: got %v, %v; want username %q", got, err, other.Username)
	}

	// Logins find the account however it is spelled: case, fullwidth
	// forms and lookalike letters.
	for _, spelling := range []string{base, strings.ToUpper(base), spoof, "\uff41" + base[1:]} {
		got, err := s.UserByUsername(ctx, spelling)
		if err != nil || got.ID != admin.ID {
			t.Errorf("lookup %q: got %v, %v; want user %d", spelling, got, err, admin.ID)
		}
	}
}

// testConcurrentLookalikeCreates races two creates of names that look
// alike, 20 times: the unique index decides, so exactly one wins each race.
func testConcurrentLookalikeCreates(t *testing.T, s *store.Store) {
	for round := range 20 {
		base := fmt.Sprintf("race%d", next())
		names := []string{base, strings.Replace(base, "a", cyrillicA, 1)}
		if round%2 == 1 {
			names[0], names[1] = names[1], names[0]
		}
		errs := make([]error, len(names))
		var start, done sync.WaitGroup
		start.Add(1)
		for i, name := range names {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				_, errs[i] = s.CreateUser(ctx, &models.User{Username: name, Role: "user", IsActive: true, PasswordHash: "x"})
			}()
		}
		start.Done()
		done.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				wantUsernameError(t, err, lookalikeMessage)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d (%q, %q): got %d creates, want exactly 1", round, names[0], names[1], wins)
		}
	}
}

// testSkeletonUpgrade upgrades a database an older release filled: users
// whose names look alike stop the upgrade with an error naming them, and
// leave the database as it was; once one is renamed, the upgrade fills
// every skeleton and lookups find users by any spelling.
func testSkeletonUpgrade(t *testing.T, target dbtest.Target) {
	for _, fresh := range dbtest.Targets(t) {
		if fresh.Name != target.Name {
			continue
		}
		s, err := store.Open(ctx, fresh.URL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.MigrateTo(ctx, migrationBefore(t, s, "0008_username_skeleton")); err != nil {
			t.Fatal(err)
		}
		legacy := func(id int64, name string) {
			t.Helper()
			err := s.Exec(ctx, `INSERT INTO users (id, username, username_key, role, is_active, password_hash, date_joined)
				VALUES (?, ?, ?, 'user', TRUE, 'x', CURRENT_TIMESTAMP)`, id, name, strings.ToLower(name))
			if err != nil {
				t.Fatal(err)
			}
		}
		legacy(1, "admin")
		legacy(2, cyrillicA+"dmin")
		legacy(3, "carol")
		legacy(4, "bi11")
		legacy(5, "Bill")
		err = s.Migrate(ctx)
		for _, want := range []string{`1 "admin", 2 "` + cyrillicA + `dmin"`, `4 "bi11", 5 "Bill"`, "nothing was changed"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("upgrade with lookalikes: got %v, want an error naming %s", err, want)
			}
		}
		if err != nil && strings.Contains(err.Error(), "carol") {
			t.Errorf("upgrade error names carol, who has no lookalike: %v", err)
		}
		if n, _ := s.Pending(ctx); n == 0 {
			t.Fatal("after the failed upgrade: got no pending migrations, want 0008 pending")
		}
		if u, err := s.UserByID(ctx, 2); err != nil || u.Username != cyrillicA+"dmin" {
			t.Fatalf("after the failed upgrade: got %v, %v; want user 2 unchanged", u, err)
		}

		// The operator renames with the old release, then upgrades.
		for id, name := range map[int64]string{2: "admin2", 5: "william"} {
			if err := s.Exec(ctx, "UPDATE users SET username = ?, username_key = ? WHERE id = ?", name, name, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("upgrade after the renames: %v", err)
		}
		for spelling, id := range map[string]int64{"ADMIN": 1, cyrillicA + "dmin": 1, "admin2": 2, "c\u0430rol": 3, "bill": 4, "William": 5} {
			if u, err := s.UserByUsername(ctx, spelling); err != nil || u.ID != id {
				t.Errorf("after the upgrade, lookup %q: got %v, %v; want user %d", spelling, u, err, id)
			}
		}
		_, err = s.CreateUser(ctx, &models.User{Username: "c" + cyrillicA + "rol", Role: "user", IsActive: true, PasswordHash: "x"})
		wantUsernameError(t, err, lookalikeMessage)
	}
}

// migrationBefore returns the id of the migration that precedes id.
func migrationBefore(t *testing.T, s *store.Store, id string) string {
	t.Helper()
	status, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range status {
		if m.ID == id && i > 0 {
			return status[i-1].ID
		}
	}
	t.Fatalf("no migration before %s in %v", id, status)
	return ""
}
