package importer_test

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/importer"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

var ctx = context.Background()

// seedFixture is the seed's real "dumpdata accounts.CustomUser" export;
// its README gives these passwords.
const seedFixture = "testdata/django-seed-dumpdata.json"

var seedPasswords = map[string]string{
	"alice": "alice-seed-pass-1",
	"bob":   "bob-seed-pass-22",
	"carol": "carol-seed-pass-333",
	"dave":  "dave-seed-pass-4444",
}

// options are the CLI's: the shipped policy's roles, "user" by default
// and "admin" for superusers.
func options(t *testing.T) importer.Options {
	t.Helper()
	pol, err := authz.Load("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	return importer.Options{HasRole: pol.HasRole, DefaultRole: "user", SuperuserRole: "admin"}
}

func openStore(t *testing.T, target dbtest.Target) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, target.URL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// loginService is the auth service as the server wires it, on st, with
// cheap argon2id parameters.
func loginService(t *testing.T, st *store.Store) *auth.Service {
	t.Helper()
	hasher, err := auth.NewHasher(auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.LoadOrCreateKeys(filepath.Join(t.TempDir(), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(auth.TokenConfig{Issuer: "test", Audience: "test", AccessTTL: time.Minute, RefreshTTL: time.Hour}, keys)
	return auth.NewService(st, st, hasher, tokens, auth.PasswordPolicy{MinLength: 12})
}

// importBytes reads data as an import file and imports it into st.
func importBytes(t *testing.T, st *store.Store, data []byte, opts importer.Options) (string, importer.Summary) {
	t.Helper()
	f, err := importer.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	sum, err := importer.Import(ctx, st, f.Rows, opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return f.Format, sum
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func wantCounts(t *testing.T, sum importer.Summary, imported, unchanged, failed int) {
	t.Helper()
	if sum.Imported != imported || sum.Unchanged != unchanged || len(sum.Failures) != failed {
		t.Fatalf("got %s, failures %v; want imported %d, unchanged %d, failed %d", sum, sum.Failures, imported, unchanged, failed)
	}
}

func userNamed(t *testing.T, st *store.Store, username string) *models.User {
	t.Helper()
	u, err := st.UserByUsername(ctx, username)
	if err != nil {
		t.Fatalf("user %q: %v", username, err)
	}
	return u
}

func TestSeedExportImportsAndLogsIn(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			data := readFile(t, seedFixture)
			format, sum := importBytes(t, st, data, options(t))
			if format != importer.FormatDjango {
				t.Errorf("format: got %q, want %q", format, importer.FormatDjango)
			}
			wantCounts(t, sum, 4, 0, 0)
			checkSeedFields(t, st)
			checkSeedLogins(t, st)

			// Importing again changes nothing, not even the new hashes.
			before := userNamed(t, st, "alice").PasswordHash
			_, sum = importBytes(t, st, data, options(t))
			wantCounts(t, sum, 0, 4, 0)
			if after := userNamed(t, st, "alice").PasswordHash; after != before {
				t.Errorf("alice's hash after re-import: got %q, want %q", after, before)
			}
			created, err := st.CreateUser(ctx, &models.User{Username: "newcomer", Role: "user", IsActive: true, PasswordHash: "x"})
			if err != nil || created.ID != 5 {
				t.Errorf("next user: got %v (%v), want id 5", created, err)
			}
		})
	}
}

// checkSeedFields compares the imported users with the fixture.
func checkSeedFields(t *testing.T, st *store.Store) {
	t.Helper()
	want := []models.User{
		{ID: 1, Username: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Admin", Role: "admin", IsActive: true,
			DateJoined: time.Date(2026, 11, 22, 12, 56, 46, 356e6, time.UTC)},
		{ID: 2, Username: "bob", Email: "bob@example.com", FirstName: "Bob", Role: "staff", IsActive: true,
			DateJoined: time.Date(2026, 11, 22, 12, 56, 46, 435e6, time.UTC)},
		{ID: 3, Username: "carol", Email: "carol@example.com", Role: "user", IsActive: true,
			DateJoined: time.Date(2026, 11, 22, 12, 56, 46, 494e6, time.UTC)},
		{ID: 4, Username: "dave", Email: "dave@example.com", Role: "user", IsActive: false,
			DateJoined: time.Date(2026, 11, 22, 12, 56, 46, 551e6, time.UTC)},
	}
	for _, w := range want {
		got := userNamed(t, st, w.Username)
		if !strings.HasPrefix(got.PasswordHash, "pbkdf2_sha256$260000$") {
			t.Errorf("%s's hash: got %q, want the Django pbkdf2_sha256 hash", w.Username, got.PasswordHash)
		}
		got.PasswordHash = ""
		if got.ID != w.ID || got.Email != w.Email || got.FirstName != w.FirstName || got.LastName != w.LastName ||
			got.Role != w.Role || got.IsActive != w.IsActive || !got.DateJoined.Equal(w.DateJoined) || got.LastLogin != nil {
			t.Errorf("got %+v, want %+v", *got, w)
		}
	}
}

// checkSeedLogins logs the seed's users in with their Django passwords.
func checkSeedLogins(t *testing.T, st *store.Store) {
	t.Helper()
	svc := loginService(t, st)
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, _, err := svc.Login(ctx, name, seedPasswords[name], ""); err != nil {
			t.Fatalf("%s's first login: %v", name, err)
		}
		u := userNamed(t, st, name)
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || u.LastLogin == nil {
			t.Errorf("%s after login: got hash %q and last login %v, want a rehash to argon2id and a last login", name, u.PasswordHash, u.LastLogin)
		}
		if _, _, err := svc.Login(ctx, name, seedPasswords[name], ""); err != nil {
			t.Errorf("%s's second login: %v", name, err)
		}
		if _, _, err := svc.Login(ctx, name, seedPasswords[name]+"x", ""); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s with a wrong password: got %v, want bad credentials", name, err)
		}
	}
	if _, _, err := svc.Login(ctx, "dave", seedPasswords["dave"], ""); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("inactive dave: got %v, want bad credentials", err)
	}
	if u := userNamed(t, st, "dave"); !strings.HasPrefix(u.PasswordHash, "pbkdf2_sha256$") {
		t.Errorf("dave's hash: got %q, want it untouched", u.PasswordHash)
	}
}

// djangoEntry builds one object of a dumpdata fixture.
func djangoEntry(model string, pk int64, fields map[string]any) map[string]any {
	base := map[string]any{
		"password": "!unusable", "last_login": nil, "is_superuser": false, "first_name": "", "last_name": "",
		"email": "", "is_staff": false, "is_active": true, "date_joined": "2021-03-04T05:06:07.089Z",
		"groups": []any{}, "user_permissions": []any{},
	}
	for k, v := range fields {
		base[k] = v
	}
	return map[string]any{"model": model, "pk": pk, "fields": base}
}

func fixture(t *testing.T, entries ...map[string]any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// djangoPBKDF2 makes a hash as Django's PBKDF2PasswordHasher does.
func djangoPBKDF2(t *testing.T, password, salt string, iterations int) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iterations, salt, base64.StdEncoding.EncodeToString(key))
}

// djangoArgon2 makes a hash as Django's Argon2PasswordHasher does, with
// cheap parameters.
func djangoArgon2(password, salt string) string {
	b64 := base64.RawStdEncoding
	key := argon2.IDKey([]byte(password), []byte(salt), 1, 64, 1, 32)
	return fmt.Sprintf("argon2$argon2id$v=19$m=64,t=1,p=1$%s$%s", b64.EncodeToString([]byte(salt)), b64.EncodeToString(key))
}

// varietyPasswords are the passwords of varietyFixture's users.
var varietyPasswords = map[string]string{
	"józef": "hasło-zażółć-1000",
	"root":  "root-argon2-password",
	"plain": "plain-user-password",
}

// varietyFixture is what real exports hold beyond the seed's: gaps in pk,
// another iteration count, an argon2 hash, non-ASCII names, last_login set,
// Django's own auth.User without a role, and a superuser.
func varietyFixture(t *testing.T) []byte {
	t.Helper()
	return fixture(t,
		djangoEntry("accounts.customuser", 10, map[string]any{
			"username": "józef", "first_name": "Józef", "last_name": "Piłsudski-Ñandú", "email": "jozef@example.pl",
			"password": djangoPBKDF2(t, varietyPasswords["józef"], "Xy7bQ2mN9pLk", 1000), "role": "staff",
			"last_login": "2024-05-06T07:08:09.123456Z", "date_joined": "2019-01-02T03:04:05+00:00",
		}),
		djangoEntry("accounts.customuser", 250, map[string]any{
			"username": "zoë", "first_name": "Zoë", "last_name": "Ødegård", "role": "user",
			"last_login": "2025-12-31T23:59:59+01:00",
		}),
		djangoEntry("auth.user", 7000, map[string]any{
			"username": "root", "is_superuser": true, "is_staff": true, "email": "root@example.com",
			"date_joined": "2018-12-31T23:59:59.999", "password": djangoArgon2(varietyPasswords["root"], "abcdefghijklmnopqrstuv"),
		}),
		djangoEntry("auth.user", 6999, map[string]any{
			"username": "plain", "password": djangoPBKDF2(t, varietyPasswords["plain"], "saltsaltsalt", 1500),
		}),
	)
}

func TestRealExportVariety(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			_, sum := importBytes(t, st, varietyFixture(t), options(t))
			wantCounts(t, sum, 4, 0, 0)
			jozef := userNamed(t, st, "JÓZEF")
			wantLogin := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
			if jozef.ID != 10 || jozef.LastName != "Piłsudski-Ñandú" || jozef.Role != "staff" || jozef.LastLogin == nil ||
				!jozef.LastLogin.Equal(wantLogin) || !jozef.DateJoined.Equal(time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("józef: got %+v, want id 10, staff, last login %v", jozef, wantLogin)
			}
			zoe := userNamed(t, st, "ZOË")
			if zoe.ID != 250 || zoe.LastName != "Ødegård" || zoe.LastLogin == nil || !zoe.LastLogin.Equal(time.Date(2025, 12, 31, 22, 59, 59, 0, time.UTC)) {
				t.Errorf("zoë: got %+v, want id 250 and a last login in UTC", zoe)
			}
			if root := userNamed(t, st, "root"); root.Role != "admin" || root.ID != 7000 {
				t.Errorf("superuser without a role: got role %q id %d, want admin 7000", root.Role, root.ID)
			}
			if plain := userNamed(t, st, "plain"); plain.Role != "user" {
				t.Errorf("auth.User without a role: got role %q, want the default, user", plain.Role)
			}
			svc := loginService(t, st)
			for _, name := range []string{"józef", "root", "plain"} {
				if _, _, err := svc.Login(ctx, name, varietyPasswords[name], ""); err != nil {
					t.Errorf("%s's login: %v", name, err)
				}
				if h := userNamed(t, st, name).PasswordHash; !strings.HasPrefix(h, "$argon2id$") {
					t.Errorf("%s's hash after login: got %q, want argon2id", name, h)
				}
			}
			created, err := st.CreateUser(ctx, &models.User{Username: "after", Role: "user", PasswordHash: "x"})
			if err != nil || created.ID != 7001 {
				t.Errorf("next user: got %v (%v), want id 7001", created, err)
			}
		})
	}
}

func TestBadRowsAreReportedAndSkipped(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			for _, name := range []string{"taken", "carol"} {
				if _, err := st.CreateUser(ctx, &models.User{Username: name, Role: "user", PasswordHash: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			hash := djangoPBKDF2(t, "good-password-1", "saltsaltsalt", 1000)
			data := fixture(t,
				djangoEntry("accounts.customuser", 10, map[string]any{"username": "good", "password": hash, "role": "user"}),
				djangoEntry("accounts.customuser", 11, map[string]any{"username": "bad name", "role": "user"}),
				djangoEntry("accounts.customuser", 12, map[string]any{"username": "boss", "role": "superuser"}),
				djangoEntry("accounts.customuser", 13, map[string]any{"username": "GOOD", "role": "user"}),
				djangoEntry("accounts.customuser", 10, map[string]any{"username": "other", "role": "user"}),
				djangoEntry("accounts.customuser", 14, map[string]any{"username": "broken", "role": "user", "password": "pbkdf2_sha256$x$y$z"}),
				djangoEntry("accounts.customuser", 15, map[string]any{"username": "unusable", "role": "user", "password": "!k3j4h5g6f7d8s9a0"}),
				djangoEntry("contenttypes.contenttype", 16, map[string]any{"app_label": "shop"}),
				djangoEntry("accounts.customuser", 17, map[string]any{"username": "when", "date_joined": "yesterday"}),
				djangoEntry("accounts.customuser", 18, map[string]any{"username": "mail", "email": "not an address"}),
				djangoEntry("accounts.customuser", 19, map[string]any{"username": "Taken"}),
				djangoEntry("accounts.customuser", 1, map[string]any{"username": "squatter"}),
				djangoEntry("accounts.customuser", 0, map[string]any{"username": "zero"}),
				djangoEntry("accounts.customuser", 20, map[string]any{"username": "g\u043e\u043ed"}),
				djangoEntry("accounts.customuser", 21, map[string]any{"username": "c\u0430rol"}),
			)
			_, sum := importBytes(t, st, data, options(t))
			wantCounts(t, sum, 3, 0, 12)
			want := map[string]string{
				"row 2 (pk 11)":  "username: Enter a valid username",
				"row 3 (pk 12)":  `role: "superuser" is not a role the policy defines`,
				"row 4 (pk 13)":  `username: "GOOD" repeats row 1 (pk 10)`,
				"row 5 (pk 10)":  "id: 10 repeats row 1 (pk 10)",
				"row 8 (pk 16)":  `model "contenttypes.contenttype" is not one this import reads`,
				"row 9 (pk 17)":  "date_joined:",
				"row 10 (pk 18)": "email: Enter a valid email address.",
				"row 11 (pk 19)": `username "Taken" belongs to user 1`,
				"row 12 (pk 1)":  `id 1 belongs to user "taken"`,
				"row 13 (pk 0)":  "id: 0 is not between 1",
				// Cyrillic "о" and "а": names that only look like others.
				"row 14 (pk 20)": "username: \"g\u043e\u043ed\" looks like that of row 1 (pk 10)",
				"row 15 (pk 21)": "username \"c\u0430rol\" looks like user 2's username \"carol\"",
			}
			for _, f := range sum.Failures {
				if w, ok := want[f.Ref]; !ok || !strings.Contains(f.Reason, w) {
					t.Errorf("failure %s: got %q, want it to contain %q", f.Ref, f.Reason, w)
				}
			}
			svc := loginService(t, st)
			if _, _, err := svc.Login(ctx, "good", "good-password-1", ""); err != nil {
				t.Errorf("good: %v", err)
			}
			for _, name := range []string{"broken", "unusable"} {
				userNamed(t, st, name)
				if _, _, err := svc.Login(ctx, name, "pbkdf2_sha256$x$y$z", ""); !errors.Is(err, auth.ErrBadCredentials) {
					t.Errorf("%s: got %v, want bad credentials", name, err)
				}
			}
			if _, _, err := svc.Login(ctx, "unusable", "!k3j4h5g6f7d8s9a0", ""); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("unusable with its own hash as password: got %v, want bad credentials", err)
			}
		})
	}
}

// TestBadRowListsEveryProblem checks that a row is refused with every
// problem it has, by the field names of the import file, in one order.
func TestBadRowListsEveryProblem(t *testing.T) {
	rows := []importer.Row{{Ref: "row 1", User: models.User{
		ID: 0, Username: "bad name", Email: "nope", FirstName: "Ann\u202e", LastName: "\u2066x", Role: "czar",
		PasswordHash: strings.Repeat("h", 256),
	}}}
	sum, err := importer.Import(ctx, nil, rows, options(t))
	want := "id: 0 is not between 1 and 9007199254740991; " +
		"username: Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.; " +
		"email: Enter a valid email address.; " +
		"first_name: This field may not contain control or bidirectional-control characters.; " +
		"last_name: This field may not contain control or bidirectional-control characters.; " +
		`role: "czar" is not a role the policy defines; ` +
		"password: the hash is longer than 255 characters"
	if err != nil || len(sum.Failures) != 1 || sum.Failures[0].Reason != want {
		t.Errorf("row with every attribute bad: got %+v, %v; want one failure: %s", sum.Failures, err, want)
	}
}

// allUsers pages through every stored user.
func allUsers(t *testing.T, st *store.Store) []*models.User {
	t.Helper()
	var out []*models.User
	for after := int64(0); ; {
		page, err := st.ListUsers(ctx, models.UserFilter{AfterID: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].ID
	}
}

func TestRolegateFormatsRoundTrip(t *testing.T) {
	encoders := map[string]func(*bytes.Buffer, []*models.User) error{
		importer.FormatCSV:  func(b *bytes.Buffer, u []*models.User) error { return importer.EncodeCSV(b, u) },
		importer.FormatJSON: func(b *bytes.Buffer, u []*models.User) error { return importer.EncodeJSON(b, u) },
	}
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			src := openStore(t, target)
			importBytes(t, src, varietyFixture(t), options(t))
			importBytes(t, src, readFile(t, seedFixture), options(t))
			// A login gives józef a rolegate hash and a newer last login.
			if _, _, err := loginService(t, src).Login(ctx, "józef", varietyPasswords["józef"], ""); err != nil {
				t.Fatal(err)
			}
			users := allUsers(t, src)
			for format, encode := range encoders {
				var buf bytes.Buffer
				if err := encode(&buf, users); err != nil {
					t.Fatal(err)
				}
				dst := openStore(t, sameDialect(t, target.Name))
				got, sum := importBytes(t, dst, buf.Bytes(), options(t))
				if got != format {
					t.Errorf("detected format: got %q, want %q", got, format)
				}
				wantCounts(t, sum, len(users), 0, 0)
				copies := allUsers(t, dst)
				for i := range users {
					if diff := userDiff(copies[i], users[i]); diff != "" {
						t.Errorf("%s round trip of user %d: %s", format, users[i].ID, diff)
					}
				}
			}
		})
	}
}

// sameDialect returns a fresh database of the named dialect.
func sameDialect(t *testing.T, name string) dbtest.Target {
	t.Helper()
	for _, target := range dbtest.Targets(t) {
		if target.Name == name {
			return target
		}
	}
	t.Fatalf("no %s database", name)
	return dbtest.Target{}
}

// userDiff describes how got differs from want, or returns "".
func userDiff(got, want *models.User) string {
	sameLogin := (got.LastLogin == nil) == (want.LastLogin == nil) &&
		(got.LastLogin == nil || got.LastLogin.Equal(*want.LastLogin))
	g, w := *got, *want
	g.LastLogin, w.LastLogin = nil, nil
	g.DateJoined, w.DateJoined = g.DateJoined.UTC(), w.DateJoined.UTC()
	if !sameLogin || !got.DateJoined.Equal(want.DateJoined) || g.ID != w.ID || g.Username != w.Username ||
		g.Email != w.Email || g.FirstName != w.FirstName || g.LastName != w.LastName || g.Role != w.Role ||
		g.IsActive != w.IsActive || g.PasswordHash != w.PasswordHash {
		return fmt.Sprintf("got %+v (last login %v), want %+v (last login %v)", g, got.LastLogin, w, want.LastLogin)
	}
	return ""
}

// TestUnverifiableHashesAreImportedWithAWarning: a row whose password hash
// can never be verified is imported (an administrator can set a password
// later), and the summary names it and counts it.
func TestUnverifiableHashesAreImportedWithAWarning(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			data := fixture(t,
				djangoEntry("accounts.customuser", 1, map[string]any{"username": "good", "role": "user", "password": djangoPBKDF2(t, "good-password-1", "saltsaltsalt", 1000)}),
				djangoEntry("accounts.customuser", 2, map[string]any{"username": "sha1", "role": "user", "password": "pbkdf2_sha1$260000$saltsalt$c2hhMQ=="}),
				djangoEntry("accounts.customuser", 3, map[string]any{"username": "locked", "role": "user", "password": "!k3j4h5g6f7d8s9a0"}),
				djangoEntry("accounts.customuser", 4, map[string]any{"username": "empty", "role": "user", "password": ""}),
				djangoEntry("accounts.customuser", 5, map[string]any{"username": "crypt", "role": "user", "password": "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv"}),
				djangoEntry("accounts.customuser", 6, map[string]any{"username": "broken", "role": "user", "password": "pbkdf2_sha256$x$y$z"}),
				djangoEntry("accounts.customuser", 7, map[string]any{"username": "bad name", "role": "user", "password": "md5$x$y"}),
			)
			_, sum := importBytes(t, st, data, options(t))
			wantCounts(t, sum, 6, 0, 1)
			want := map[string]string{
				"row 2 (pk 2)": "password: pbkdf2_sha1 hashes cannot be verified",
				"row 3 (pk 3)": "password: an unusable password",
				"row 4 (pk 4)": "password: no password hash",
				"row 5 (pk 5)": "password: bcrypt_sha256 hashes cannot be verified",
				"row 6 (pk 6)": "password: a malformed hash",
			}
			if len(sum.Warnings) != len(want) {
				t.Errorf("got warnings %v, want one for each of %v", sum.Warnings, want)
			}
			for _, w := range sum.Warnings {
				if !strings.Contains(w.Reason, want[w.Ref]) || want[w.Ref] == "" || !strings.Contains(w.Reason, "rolegate users set-password") {
					t.Errorf("warning %s: got %q, want %q and how to set a password", w.Ref, w.Reason, want[w.Ref])
				}
			}
			if !strings.Contains(sum.String(), "(of 7 rows) in ") || !strings.HasSuffix(sum.String(), "; 5 imported with a password hash that can never be verified") {
				t.Errorf("summary: got %q, want the 5 counted", sum)
			}
			for _, name := range []string{"sha1", "locked", "empty", "crypt", "broken"} {
				userNamed(t, st, name)
			}
			// Importing again changes nothing and warns of nothing new.
			_, sum = importBytes(t, st, data, options(t))
			wantCounts(t, sum, 0, 6, 1)
			if len(sum.Warnings) != 0 || strings.Contains(sum.String(), "never be verified") {
				t.Errorf("second import: got %q, warnings %v; want none", sum, sum.Warnings)
			}
		})
	}
}
