package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestStore runs the whole suite on every database under test.
func TestStore(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := freshStore(t, target)
			for name, test := range suite {
				t.Run(name, func(t *testing.T) { test(t, s) })
			}
		})
	}
}

var suite = map[string]func(*testing.T, *store.Store){
	"MigrationsRoundTrip":         testMigrationsRoundTrip,
	"UsernamesAreCaseInsensitive": testUsernamesAreCaseInsensitive,
	"ListPagesFiltersAndSearches": testListPagesFiltersAndSearches,
	"UpdateChangesOnlyPatched":    testUpdateChangesOnlyPatched,
	"PasswordChangeEndsSessions":  testPasswordChangeEndsSessions,
	"UpdateChecksTheLockedRow":    testUpdateChecksTheLockedRow,
	"LoginRecordedOnlyAsVerified": testLoginRecordedOnlyAsVerified,
	"LastAdminIsKept":             testLastAdminIsKept,
	"AdminsRemovingEachOther":     testAdminsRemovingEachOther,
	"RefreshRotatesOnce":          testRefreshRotatesOnce,
	"ConcurrentRefreshOneWinner":  testConcurrentRefreshOneWinner,
	"SuccessorJoinsSpentSession":  testSuccessorJoinsTheSpentTokensSession,
	"RefreshRefusals":             testRefreshRefusals,
	"RotationReturnsTheUser":      testRotationReturnsTheUser,
	"DeleteCascadesAndPurge":      testDeleteCascadesAndPurge,
	"MissingUserIsNotFound":       testMissingUserIsNotFound,
	"AuditRoundTripAndFilters":    testAuditRoundTripAndFilters,
	"AuditPages":                  testAuditPages,
	"AuditLargeInsert":            testAuditLargeInsert,
	"AuditAggregates":             testAuditAggregates,
	"AuditPurge":                  testAuditPurge,
	"PolicyVersions":              testPolicyVersions,
}

var ctx = context.Background()

var seqN atomic.Int64

func next() int64 { return seqN.Add(1) }

// newUser creates a user with a unique name.
func newUser(t *testing.T, s *store.Store, role string) *models.User {
	t.Helper()
	seq := next()
	u, err := s.CreateUser(ctx, &models.User{
		Username: fmt.Sprintf("u%d-%d", time.Now().UnixNano()%1e9, seq), Email: "x@example.com",
		Role: role, IsActive: true, PasswordHash: "$argon2id$placeholder",
	})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := models.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

func testMigrationsRoundTrip(t *testing.T, s *store.Store) {
	// The suite's schema is in use; round-trip on a fresh database.
	for _, target := range dbtest.Targets(t) {
		if target.Name != s.Dialect() {
			continue
		}
		fresh, err := store.Open(ctx, target.URL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		if n, err := fresh.Pending(ctx); err != nil || n == 0 {
			t.Fatalf("fresh database: got %d pending (%v), want some", n, err)
		}
		ran, err := fresh.MigrateUp(ctx)
		if err != nil || len(ran) < 2 || ran[0] != "0001_init" {
			t.Fatalf("up: got %v, %v; want every migration, 0001_init first", ran, err)
		}
		if undone, err := fresh.MigrateDown(ctx); err != nil || undone != ran[len(ran)-1] {
			t.Fatalf("down: got %q, %v; want the newest, %s", undone, err, ran[len(ran)-1])
		}
		if again, err := fresh.MigrateUp(ctx); err != nil || len(again) != 1 || again[0] != ran[len(ran)-1] {
			t.Fatalf("up after down: got %v, %v; want only %s", again, err, ran[len(ran)-1])
		}
		if none, err := fresh.MigrateUp(ctx); err != nil || len(none) != 0 {
			t.Fatalf("up when up to date: got %v, %v; want none", none, err)
		}
		if n, err := fresh.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("after up/down/up: got %d pending (%v), want 0", n, err)
		}
		if _, err := fresh.CreateUser(ctx, &models.User{Username: "after-roundtrip", Role: "user", IsActive: true, PasswordHash: "x"}); err != nil {
			t.Fatalf("schema unusable after round trip: %v", err)
		}
	}
}

func testUsernamesAreCaseInsensitive(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	_, err := s.CreateUser(ctx, &models.User{Username: "U" + u.Username[1:], Role: "user", PasswordHash: "x"})
	wantCode(t, err, models.EINVALID)
	if e := models.AsError(err); len(e.Fields["username"]) == 0 {
		t.Errorf("got fields %v, want a username error", e.Fields)
	}
	got, err := s.UserByUsername(ctx, "U"+u.Username[1:])
	if err != nil || got.ID != u.ID {
		t.Fatalf("lookup by other case: got %v, %v; want user %d", got, err, u.ID)
	}
	if got.DateJoined.IsZero() || got.DateJoined.Location() != time.UTC {
		t.Errorf("date_joined: got %v, want a UTC time", got.DateJoined)
	}
}

func testListPagesFiltersAndSearches(t *testing.T, s *store.Store) {
	tag := fmt.Sprintf("pg%d", time.Now().UnixNano()%1e9)
	var ids []int64
	for i := range 5 {
		role := "user"
		if i%2 == 0 {
			role = "staff"
		}
		u, err := s.CreateUser(ctx, &models.User{Username: fmt.Sprintf("%s_%d", tag, i), Email: fmt.Sprintf("%s%d@Example.com", tag, i), Role: role, IsActive: i != 4, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	// A user whose name would match if "_" were a LIKE wildcard.
	if _, err := s.CreateUser(ctx, &models.User{Username: tag + "x1", Role: "user", IsActive: true, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}

	var seen []int64
	after := int64(0)
	for page := 0; page < 10; page++ {
		us, err := s.ListUsers(ctx, models.UserFilter{Search: tag + "_", AfterID: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			seen = append(seen, u.ID)
		}
		if len(us) < 2 {
			break
		}
		after = us[len(us)-1].ID
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Errorf("paged search %q: got ids %v, want %v", tag+"_", seen, ids)
	}

	staff, active := "staff", true
	us, err := s.ListUsers(ctx, models.UserFilter{Search: tag + "_", Role: &staff, IsActive: &active, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(us); got != 2 {
		t.Errorf("active staff: got %d users, want 2 (ids %v)", got, ids)
	}
	us, err = s.ListUsers(ctx, models.UserFilter{Search: tag + "3@EXAMPLE", Limit: 50})
	if err != nil || len(us) != 1 || us[0].ID != ids[3] {
		t.Errorf("search by email, other case: got %d users (%v), want user %d", len(us), err, ids[3])
	}
	us, err = s.ListUsers(ctx, models.UserFilter{Search: "%", Limit: 50})
	if err != nil || len(us) != 0 {
		t.Errorf("search %%: got %d users (%v), want none", len(us), err)
	}

	// A listed user is the stored user, but for the password hash and the
	// account key, which no listing reads.
	read, err := s.UserByID(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordLogin(ctx, read, time.Date(2026, 5, 4, 3, 2, 1, 123456000, time.UTC), ""); err != nil {
		t.Fatal(err)
	}
	us, err = s.ListUsers(ctx, models.UserFilter{Search: tag + "_", AfterID: ids[0], Limit: 1})
	if err != nil || len(us) != 1 {
		t.Fatalf("one page after %d: got %d users (%v), want 1", ids[0], len(us), err)
	}
	want, err := s.UserByID(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	want.PasswordHash, want.AccountKey = "", ""
	if got := us[0]; !reflect.DeepEqual(got, want) || got.DateJoined.Location() != time.UTC || got.LastLogin.Location() != time.UTC {
		t.Errorf("listed user:\n got %+v\nwant %+v, in UTC", got, want)
	}
	for _, limit := range []int{0, -1} {
		_, err = s.ListUsers(ctx, models.UserFilter{Limit: limit})
		wantCode(t, err, models.EINVALID)
	}
}

func testUpdateChangesOnlyPatched(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	email, first := "new@example.org", "Ann"
	change, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Email: &email, FirstName: &first}, models.AdminGuard{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(change.Before, u) {
		t.Errorf("before: got %+v, want %+v", change.Before, u)
	}
	got := change.After
	if got.Email != email || got.FirstName != first || got.Username != u.Username || got.Role != u.Role || got.TokenEpoch != u.TokenEpoch {
		t.Errorf("got %+v, want only email and first name changed from %+v", got, u)
	}
	other := newUser(t, s, "user")
	taken := "U" + other.Username[1:]
	_, err = s.UpdateUser(ctx, u.ID, models.UserPatch{Username: &taken}, models.AdminGuard{}, nil)
	wantCode(t, err, models.EINVALID)
}

// testUpdateChecksTheLockedRow checks that UpdateUser hands its check the
// row as stored when the write runs, not an earlier read; that a refusal
// writes nothing and comes back as it was; and that the change returned
// holds the row before and after the write.
func testUpdateChecksTheLockedRow(t *testing.T, s *store.Store) {
	u := newUser(t, s, "staff")
	// Another writer demotes the user after the caller's last read.
	demoted, inactive := "user", false
	if _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Role: &demoted, IsActive: &inactive}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
	stale, active := u.Role, true
	first := "Mallory"
	refused := errors.New("refused")
	var seen *models.User
	_, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Role: &stale, IsActive: &active, FirstName: &first}, models.AdminGuard{},
		func(locked *models.User, p models.UserPatch) error {
			seen = locked
			if p.ChangesAccess(locked) {
				return refused
			}
			return nil
		})
	if err != refused {
		t.Fatalf("update refused by its check: got error %v, want the check's own error", err)
	}
	if seen == nil || seen.Role != demoted || seen.IsActive {
		t.Errorf("check saw %+v, want the row as locked (role %q, inactive)", seen, demoted)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.Role != demoted || got.IsActive || got.FirstName != u.FirstName {
		t.Errorf("after a refused update: got %+v, %v; want it unchanged", got, err)
	}
	// A patch that repeats the locked values passes the same check and
	// writes nothing: the token epoch stays.
	change, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Role: &demoted, IsActive: &inactive, FirstName: &first}, models.AdminGuard{},
		func(locked *models.User, p models.UserPatch) error {
			if p.ChangesAccess(locked) {
				return refused
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if change.Before.FirstName != u.FirstName || change.After.FirstName != first || change.After.Role != demoted ||
		change.After.IsActive || change.After.TokenEpoch != change.Before.TokenEpoch {
		t.Errorf("change: got before %+v after %+v, want only the first name changed", change.Before, change.After)
	}
}

// testLoginRecordedOnlyAsVerified checks that a login, and the rehash it
// carries, are written only while the stored hash and token epoch are the
// ones the password was checked against: a password reset or a
// deactivation in between is ECONFLICT and is not undone.
func testLoginRecordedOnlyAsVerified(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	read, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	reset := "$argon2id$reset"
	if _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{PasswordHash: &reset}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RecordLogin(ctx, read, time.Now(), "$argon2id$rehashed"), models.ECONFLICT)
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.PasswordHash != reset || got.LastLogin != nil {
		t.Fatalf("after a rehash of a replaced hash: got %+v, %v; want the reset hash and no login", got, err)
	}
	// Read again, the login goes through.
	if err := s.RecordLogin(ctx, got, time.Now(), "$argon2id$rehashed"); err != nil {
		t.Fatal(err)
	}
	// A deactivation moves the token epoch: a login checked before it is
	// refused.
	read, err = s.UserByID(ctx, u.ID)
	if err != nil || read.PasswordHash != "$argon2id$rehashed" || read.LastLogin == nil {
		t.Fatalf("after a login: got %+v, %v; want the rehash and a last login", read, err)
	}
	inactive := false
	if _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{IsActive: &inactive}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RecordLogin(ctx, read, time.Now(), ""), models.ECONFLICT)
}

func testPasswordChangeEndsSessions(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	sess := models.Session{ID: "pw-" + u.Username, UserID: u.ID, CreatedAt: time.Now()}
	tok := models.RefreshToken{Hash: hash("pw1" + u.Username), SessionID: sess.ID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess, tok); err != nil {
		t.Fatal(err)
	}
	h := "$argon2id$new"
	change, err := s.UpdateUser(ctx, u.ID, models.UserPatch{PasswordHash: &h}, models.AdminGuard{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := change.After
	if got.TokenEpoch != u.TokenEpoch+1 || got.PasswordHash != h {
		t.Errorf("got epoch %d hash %q, want epoch %d and the new hash", got.TokenEpoch, got.PasswordHash, u.TokenEpoch+1)
	}
	stored, err := s.SessionByID(ctx, sess.ID)
	if err != nil || stored.RevokedAt == nil {
		t.Errorf("session after password change: got %+v, %v; want revoked", stored, err)
	}
	_, err = s.RotateRefreshToken(ctx, tok.Hash, models.RefreshToken{Hash: hash("pw2" + u.Username), SessionID: sess.ID, ExpiresAt: time.Now().Add(time.Hour)}, time.Now())
	wantCode(t, err, models.EUNAUTHORIZED)
}

func testLastAdminIsKept(t *testing.T, s *store.Store) {
	// A role no other test uses, so this admin is the only one.
	role := fmt.Sprintf("root%d", time.Now().UnixNano())
	guard := models.AdminGuard{Roles: []string{role}}
	admin := newUser(t, s, role)
	user, inactive := "user", false
	_, err := s.UpdateUser(ctx, admin.ID, models.UserPatch{Role: &user}, guard, nil)
	wantCode(t, err, models.ECONFLICT)
	_, err = s.UpdateUser(ctx, admin.ID, models.UserPatch{IsActive: &inactive}, guard, nil)
	wantCode(t, err, models.ECONFLICT)
	wantCode(t, s.DeleteUser(ctx, admin.ID, guard), models.ECONFLICT)
	if got, err := s.UserByID(ctx, admin.ID); err != nil || got.Role != role || !got.IsActive {
		t.Fatalf("after refused changes: got %+v, %v; want unchanged", got, err)
	}
	// With a second admin, the first may go.
	newUser(t, s, role)
	if _, err := s.UpdateUser(ctx, admin.ID, models.UserPatch{Role: &user}, guard, nil); err != nil {
		t.Fatalf("demote with another admin: %v", err)
	}
}

func testAdminsRemovingEachOther(t *testing.T, s *store.Store) {
	role := fmt.Sprintf("root%d", time.Now().UnixNano())
	guard := models.AdminGuard{Roles: []string{role}}
	for round := range 5 {
		a, b := newUser(t, s, role), newUser(t, s, role)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Go(func() { errs[0] = s.DeleteUser(ctx, a.ID, guard) })
		wg.Go(func() {
			inactive := false
			_, errs[1] = s.UpdateUser(ctx, b.ID, models.UserPatch{IsActive: &inactive}, guard, nil)
		})
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch models.ErrorCode(err) {
			case "":
				ok++
			case models.ECONFLICT:
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of 2 removals succeeded, want exactly 1 (%v)", round, ok, errs)
		}
		// Leave no admin of this role behind for the next round.
		role = fmt.Sprintf("root%d", time.Now().UnixNano())
		guard = models.AdminGuard{Roles: []string{role}}
	}
}

func hash(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

func session(t *testing.T, s *store.Store, u *models.User) (models.Session, models.RefreshToken) {
	t.Helper()
	seq := next()
	sess := models.Session{ID: fmt.Sprintf("s%d-%d", u.ID, seq), UserID: u.ID, CreatedAt: time.Now()}
	tok := models.RefreshToken{Hash: hash(fmt.Sprintf("t%d-%d", u.ID, seq)), SessionID: sess.ID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess, tok); err != nil {
		t.Fatal(err)
	}
	return sess, tok
}

func nextToken(sess models.Session, label string) models.RefreshToken {
	seq := next()
	return models.RefreshToken{Hash: hash(fmt.Sprintf("%s-%s-%d", sess.ID, label, seq)), SessionID: sess.ID, ExpiresAt: time.Now().Add(time.Hour)}
}

func testRefreshRotatesOnce(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	sess, first := session(t, s, u)
	second := nextToken(sess, "2")
	got, err := s.RotateRefreshToken(ctx, first.Hash, second, time.Now())
	if err != nil || got.ID != u.ID {
		t.Fatalf("first rotation: got %v, %v; want user %d", got, err, u.ID)
	}
	// Replaying the first token revokes the session, so the second dies
	// too, and names the session's user for the audit trail.
	_, err = s.RotateRefreshToken(ctx, first.Hash, nextToken(sess, "3"), time.Now())
	var reused *models.RefreshReusedError
	if !errors.Is(err, models.ErrRefreshReused) || !errors.As(err, &reused) || reused.UserID != u.ID || models.ErrorCode(err) != models.EUNAUTHORIZED {
		t.Fatalf("replay: got %v, want ErrRefreshReused naming user %d, EUNAUTHORIZED", err, u.ID)
	}
	_, err = s.RotateRefreshToken(ctx, second.Hash, nextToken(sess, "4"), time.Now())
	wantCode(t, err, models.EUNAUTHORIZED)
	if st, _ := s.SessionByID(ctx, sess.ID); st == nil || st.RevokedAt == nil {
		t.Errorf("session after replay: got %+v, want revoked", st)
	}
}

// A successor is stored in the spent token's session, whatever session
// it names: a refresh token carries no session of its own.
func testSuccessorJoinsTheSpentTokensSession(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	sess, first := session(t, s, u)
	other, _ := session(t, s, u)
	second := nextToken(other, "elsewhere")
	if _, err := s.RotateRefreshToken(ctx, first.Hash, second, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, second.Hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.SessionByID(ctx, sess.ID); st == nil || st.RevokedAt == nil {
		t.Errorf("spent token's session: got %+v, want ended by its successor's logout", st)
	}
	if st, _ := s.SessionByID(ctx, other.ID); st == nil || st.RevokedAt != nil {
		t.Errorf("the session the successor named: got %+v, want untouched", st)
	}
}

func testConcurrentRefreshOneWinner(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	sess, first := session(t, s, u)
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.RotateRefreshToken(ctx, first.Hash, nextToken(sess, fmt.Sprint("c", i)), time.Now())
		})
	}
	wg.Wait()
	won, reused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, models.ErrRefreshReused):
			reused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || reused != n-1 {
		t.Fatalf("got %d winners and %d reuses, want 1 and %d", won, reused, n-1)
	}
	if st, _ := s.SessionByID(ctx, sess.ID); st == nil || st.RevokedAt == nil {
		t.Errorf("session: got %+v, want revoked as reuse", st)
	}
}

func testRefreshRefusals(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	sess, first := session(t, s, u)
	// Unknown token.
	_, err := s.RotateRefreshToken(ctx, hash("never issued"), nextToken(sess, "x"), time.Now())
	wantCode(t, err, models.EUNAUTHORIZED)
	// Expired by the store's clock.
	refused := nextToken(sess, "y")
	_, err = s.RotateRefreshToken(ctx, first.Hash, refused, time.Now().Add(2*time.Hour))
	wantCode(t, err, models.EUNAUTHORIZED)
	// Neither refusal changed anything: the token is still unspent (no
	// reuse), and the refused successor was never stored.
	if _, err := s.RotateRefreshToken(ctx, first.Hash, nextToken(sess, "y2"), time.Now()); err != nil {
		t.Fatalf("rotation after refusals: got %v, want the token still good", err)
	}
	_, err = s.RotateRefreshToken(ctx, refused.Hash, nextToken(sess, "y3"), time.Now())
	wantCode(t, err, models.EUNAUTHORIZED)
	if errors.Is(err, models.ErrRefreshReused) {
		t.Errorf("refused successor: got %v, want an unknown token, not a reuse", err)
	}
	if st, _ := s.SessionByID(ctx, sess.ID); st == nil || st.RevokedAt != nil {
		t.Errorf("session after refusals: got %+v, want not revoked", st)
	}
	// Logged out, with the token or a spent one of the same session; an
	// unknown or expired token logs nothing out.
	sess2, tok2 := session(t, s, u)
	wantCode(t, s.EndSession(ctx, hash("never issued"), time.Now()), models.EUNAUTHORIZED)
	wantCode(t, s.EndSession(ctx, tok2.Hash, time.Now().Add(2*time.Hour)), models.EUNAUTHORIZED)
	if st, _ := s.SessionByID(ctx, sess2.ID); st == nil || st.RevokedAt != nil {
		t.Fatalf("session after refused logouts: got %+v, want not revoked", st)
	}
	if err := s.EndSession(ctx, tok2.Hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, tok2.Hash, time.Now()); err != nil {
		t.Fatalf("second logout: got %v, want nil", err)
	}
	_, err = s.RotateRefreshToken(ctx, tok2.Hash, nextToken(sess2, "z"), time.Now())
	wantCode(t, err, models.EUNAUTHORIZED)
	sess4, tok4 := session(t, s, u)
	if _, err := s.RotateRefreshToken(ctx, tok4.Hash, nextToken(sess4, "s"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, tok4.Hash, time.Now()); err != nil {
		t.Fatalf("logout with a spent token: got %v, want nil", err)
	}
	if st, _ := s.SessionByID(ctx, sess4.ID); st == nil || st.RevokedAt == nil {
		t.Errorf("session after a logout with a spent token: got %+v, want revoked", st)
	}
	// Inactive user.
	sess3, tok3 := session(t, s, u)
	inactive := false
	if _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{IsActive: &inactive}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.RotateRefreshToken(ctx, tok3.Hash, nextToken(sess3, "w"), time.Now())
	wantCode(t, err, models.EUNAUTHORIZED)
}

// A rotation returns the session's user as stored, whole, and refusals
// leave the token as it was: the spend and its checks are one statement.
func testRotationReturnsTheUser(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	sess, first := session(t, s, u)
	_, err := s.RotateRefreshToken(ctx, first.Hash, nextToken(sess, "expired"), time.Now().Add(2*time.Hour))
	wantCode(t, err, models.EUNAUTHORIZED)
	got, err := s.RotateRefreshToken(ctx, first.Hash, nextToken(sess, "2"), time.Now())
	if err != nil {
		t.Fatalf("good token after a refusal: got %v, want it unspent", err)
	}
	want, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rotation's user: got %+v, want %+v", got, want)
	}
}

func testDeleteCascadesAndPurge(t *testing.T, s *store.Store) {
	u := newUser(t, s, "user")
	sess, tok := session(t, s, u)
	if err := s.DeleteUser(ctx, u.ID, models.AdminGuard{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByID(ctx, sess.ID); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("session of deleted user: got %v, want not found", err)
	}
	_, err := s.RotateRefreshToken(ctx, tok.Hash, nextToken(sess, "d"), time.Now())
	wantCode(t, err, models.EUNAUTHORIZED)
	wantCode(t, s.DeleteUser(ctx, u.ID, models.AdminGuard{}), models.ENOTFOUND)

	v := newUser(t, s, "user")
	old, _ := session(t, s, v)
	n, err := s.PurgeExpired(ctx, time.Now().Add(3*time.Hour))
	if err != nil || n < 1 {
		t.Fatalf("purge: got %d, %v; want at least 1 token", n, err)
	}
	if _, err := s.SessionByID(ctx, old.ID); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("session with only expired tokens after purge: got %v, want gone", err)
	}
}

func testMissingUserIsNotFound(t *testing.T, s *store.Store) {
	_, err := s.UserByID(ctx, 1<<40)
	wantCode(t, err, models.ENOTFOUND)
	_, err = s.UserByUsername(ctx, "nobody-at-all")
	wantCode(t, err, models.ENOTFOUND)
	email := "a@b.co"
	_, err = s.UpdateUser(ctx, 1<<40, models.UserPatch{Email: &email}, models.AdminGuard{}, nil)
	wantCode(t, err, models.ENOTFOUND)
	wantCode(t, s.RecordLogin(ctx, &models.User{ID: 1 << 40}, time.Now(), ""), models.ENOTFOUND)
}
