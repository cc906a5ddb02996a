package httpapi_test

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// throttleEnv is a server of its own whose limits are low: 3 failed logins
// per account, 5 per address, 2 signups per address, and a first block of
// a minute, so that a block outlasts any test and Retry-After is exact.
// Its argon2id cost is raised (about 20-40 ms a hash on the test machine)
// so that a refusal that skips the hash is measurably cheaper.
func throttleEnv(t *testing.T, e *env, extra map[string]string) *env {
	t.Helper()
	vars := map[string]string{
		"ROLEGATE_LOGIN_ACCOUNT_LIMIT": "3",
		"ROLEGATE_LOGIN_IP_LIMIT":      "5",
		"ROLEGATE_SIGNUP_IP_LIMIT":     "2",
		"ROLEGATE_THROTTLE_BASE_DELAY": "1m",
		"ROLEGATE_ARGON2_MEMORY_KIB":   "8192",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return freshEnvWith(t, e, shippedPolicy, vars)
}

// loginAs posts a login, with X-Forwarded-For set when xff is not "".
func (e *env) loginAs(t *testing.T, username, password, xff string) *response {
	t.Helper()
	body := obj{"username": username, "password": password}
	req, err := e.newRequest(http.MethodPost, "/v1/auth/login", "", body)
	if err != nil {
		t.Fatal(err)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	return e.send(t, req, body)
}

// wantThrottled checks a 429 refusal: the one body, and a Retry-After of
// about the block (a minute here).
func wantThrottled(t *testing.T, r *response) {
	t.Helper()
	wantStatus(t, r, http.StatusTooManyRequests)
	wantBody(t, r, obj{"detail": "Too many attempts; try again later.", "code": "throttled"})
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 50 || s > 60 {
		t.Errorf("%s: got Retry-After %q, want the seconds left of a one-minute block", r.What, r.Header.Get("Retry-After"))
	}
}

func wantBadCredentials(t *testing.T, r *response) {
	t.Helper()
	wantStatus(t, r, http.StatusUnauthorized)
	wantBody(t, r, obj{"detail": "No active account found with the given credentials", "code": "no_active_account"})
}

// Throttled answers for an account that exists and one that does not are
// the same 429, body and headers: the throttle is checked before any
// account is read. They are compared with each other, not with the 401 of
// an unthrottled failure, which is a different status by design.
func TestLoginThrottlePerAccount(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, map[string]string{"ROLEGATE_LOGIN_IP_LIMIT": "1000"})
		u := e.storedUser(t, roleUser)
		ghost := unique("nobody")
		for range 3 {
			wantBadCredentials(t, e.loginAs(t, u.Username, "wrong-"+newPassword(), ""))
			wantBadCredentials(t, e.loginAs(t, ghost, "wrong-"+newPassword(), ""))
		}
		before := e.stored(t, u.ID)
		var existing, unknown []*response
		var took, tookHashed []time.Duration
		for range 3 {
			start := time.Now()
			// The right password, too late: the block holds.
			existing = append(existing, e.loginAs(t, strings.ToUpper(u.Username), u.Password, ""))
			took = append(took, time.Since(start))
			unknown = append(unknown, e.loginAs(t, ghost, u.Password, ""))
		}
		for i := range existing {
			wantThrottled(t, existing[i])
			wantThrottled(t, unknown[i])
			wantSameAnswer(t, existing[i], unknown[i], "Retry-After")
			if a, b := existing[i].Header.Get("Retry-After"), unknown[i].Header.Get("Retry-After"); absDiff(a, b) > 1 {
				t.Errorf("Retry-After: got %s for the account and %s for the unknown name, want the same block", a, b)
			}
		}
		e.wantUnchanged(t, before) // no login happened
		// A refusal costs no hash: it is far cheaper than a checked password.
		other := e.storedUser(t, roleUser)
		for range 3 {
			start := time.Now()
			wantBadCredentials(t, e.loginAs(t, other.Username, "wrong-"+newPassword(), ""))
			tookHashed = append(tookHashed, time.Since(start))
		}
		if m, h := median(took), median(tookHashed); m*2 > h {
			t.Errorf("throttled login took %v (median), a checked one %v: want a throttled one under half, with no hash", m, h)
		}
	})
}

func absDiff(a, b string) int {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return max(x-y, y-x)
}

func TestLoginSuccessResetsAccountCounter(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, nil)
		u := e.storedUser(t, roleUser)
		wantBadCredentials(t, e.loginAs(t, u.Username, "wrong-"+newPassword(), ""))
		wantBadCredentials(t, e.loginAs(t, u.Username, "wrong-"+newPassword(), ""))
		wantStatus(t, e.loginAs(t, u.Username, u.Password, ""), http.StatusOK)
		// Without the reset, this third failure would block the account.
		wantBadCredentials(t, e.loginAs(t, u.Username, "wrong-"+newPassword(), ""))
		wantBadCredentials(t, e.loginAs(t, u.Username, "wrong-"+newPassword(), ""))
		wantStatus(t, e.loginAs(t, u.Username, u.Password, ""), http.StatusOK)
	})
}

// The address limit counts failures on any username, so a guesser cannot
// escape it by trying one password on many accounts; and a client cannot
// leave its counter by claiming another address in X-Forwarded-For.
func TestLoginThrottlePerAddress(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, map[string]string{"ROLEGATE_LOGIN_ACCOUNT_LIMIT": "100"})
		u := e.storedUser(t, roleUser)
		for range 5 {
			wantBadCredentials(t, e.loginAs(t, unique("sprayed"), "wrong-"+newPassword(), ""))
		}
		wantThrottled(t, e.loginAs(t, unique("sprayed"), "wrong-"+newPassword(), ""))
		wantThrottled(t, e.loginAs(t, u.Username, u.Password, ""))
		for _, xff := range []string{"203.0.113.9", "127.0.0.1", "203.0.113.9, 198.51.100.4"} {
			wantThrottled(t, e.loginAs(t, u.Username, u.Password, xff))
		}
	})
}

// Behind a trusted proxy the client is the rightmost address of
// X-Forwarded-For that is not a trusted proxy: a new client gets its own
// counter, and what a client writes at the left of the header is ignored.
func TestLoginThrottleBehindTrustedProxy(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, map[string]string{"ROLEGATE_LOGIN_ACCOUNT_LIMIT": "100", "ROLEGATE_TRUSTED_PROXIES": "127.0.0.0/8, 10.0.0.0/8"})
		u := e.storedUser(t, roleUser)
		attacker := "203.0.113.7"
		for range 5 {
			wantBadCredentials(t, e.loginAs(t, unique("sprayed"), "wrong-"+newPassword(), attacker))
		}
		for _, xff := range []string{attacker, "198.51.100.1, " + attacker, attacker + ", 10.1.2.3", "2001:db8::1, " + attacker} {
			wantThrottled(t, e.loginAs(t, u.Username, u.Password, xff))
		}
		// Another client behind the proxy, and another proxy hop, are
		// counted apart.
		wantStatus(t, e.loginAs(t, u.Username, u.Password, "203.0.113.8"), http.StatusOK)
		wantStatus(t, e.loginAs(t, u.Username, u.Password, attacker+", 198.51.100.2"), http.StatusOK)
		// The proxy itself, with no header, is a client like any other.
		wantStatus(t, e.loginAs(t, u.Username, u.Password, ""), http.StatusOK)
	})
}

func TestSignupThrottlePerAddress(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, nil)
		signup := func(name string) *response {
			return e.do(t, http.MethodPost, "/v1/auth/signup", "", obj{"username": name, "password": newPassword()})
		}
		wantStatus(t, signup(unique("joiner")), http.StatusCreated)
		wantStatus(t, signup(unique("joiner")), http.StatusCreated)
		name := unique("joiner")
		wantThrottled(t, signup(name))
		e.wantNoUsername(t, name)
	})
}

// When the throttle cannot be read, logins fail closed: 503, even with the
// right password, and no session.
func TestLoginThrottleFailsClosed(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, nil)
		u := e.storedUser(t, roleUser)
		before := e.stored(t, u.ID)
		execSQL(t, e, "DROP TABLE login_throttle")
		body := obj{"username": u.Username, "password": u.Password}
		req, err := e.newRequest(http.MethodPost, "/v1/auth/login", "", body)
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.roundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, http.StatusServiceUnavailable)
		wantBody(t, r, obj{"detail": "service temporarily unavailable", "code": "service_unavailable"})
		e.wantUnchanged(t, before)
		r, err = e.roundTrip(mustRequest(t, e, http.MethodPost, "/v1/auth/signup", obj{"username": unique("joiner"), "password": newPassword()}))
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, http.StatusServiceUnavailable)
	})
}

func mustRequest(t *testing.T, e *env, method, path string, body any) *http.Request {
	t.Helper()
	req, err := e.newRequest(method, path, "", body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// execSQL runs stmt on e's database over a connection of its own.
func execSQL(t *testing.T, e *env, stmt string) {
	t.Helper()
	var dialector gorm.Dialector
	if path, ok := strings.CutPrefix(e.cfg.DatabaseURL, "sqlite:"); ok {
		dialector = sqlite.Open(path)
	} else {
		dialector = postgres.Open(e.cfg.DatabaseURL)
	}
	db, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	if err := db.Exec(stmt).Error; err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// wantSameAnswer checks that a and b have the same status, body and
// headers, apart from X-Request-Id (a new one per request), Date (the
// clock) and the headers named in skip.
func wantSameAnswer(t *testing.T, a, b *response, skip ...string) {
	t.Helper()
	if a.Status != b.Status || string(a.Body) != string(b.Body) {
		t.Errorf("got %d %s and %d %s, want the same answer", a.Status, a.Body, b.Status, b.Body)
	}
	ignored := append([]string{"X-Request-Id", "Date"}, skip...)
	for _, h := range unionKeys(a.Header, b.Header) {
		if slices.ContainsFunc(ignored, func(s string) bool { return http.CanonicalHeaderKey(s) == h }) {
			continue
		}
		if !slices.Equal(a.Header.Values(h), b.Header.Values(h)) {
			t.Errorf("header %s: got %q and %q, want the same", h, a.Header.Values(h), b.Header.Values(h))
		}
	}
}

func unionKeys(a, b http.Header) []string {
	var out []string
	for _, h := range []http.Header{a, b} {
		for k := range h {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestLoginFailuresLookAlike checks that a login tells nothing about which
// accounts exist, nor what their stored hash is: an unknown username, a
// wrong password and an inactive account (here with its right password)
// get the same status, body and headers, and take the same time, whether
// the account's hash is the server's own argon2id, argon2id at outdated
// parameters (cheaper), or imported from Django (PBKDF2, here about 2.5
// times the cost of the server's own). Each costs one password check (an
// unknown user's is against a decoy hash) and the same throttle reads and
// writes, and every refusal is held to the failure floor, the cost of the
// most expensive kind of hash seen (auth.Verification.Refuse). The server
// measures the kinds stored before the first round, as serve does at
// start.
//
// Throttled logins are compared in TestLoginThrottlePerAccount instead:
// they are 429, not 401, by design, and what must not differ is the answer
// for a throttled account that exists and one that does not.
//
// The argon2id cost is raised for this test so that the hash, not the
// database's fsyncs, dominates each login. Each round sends one login of
// each case at once (with a hashing slot each), so that all three meet the
// same load, in a new order each round: the test machine is shared, and
// sent one after another, raw medians moved by 10-80% between runs. Each login's time is taken
// relative to the mean of its round, and the medians of those relative
// times must differ by under 10%. A login that skipped the hash finishes
// far ahead of its round (0.73 to 0.84 of the mean, measured with the decoy hash
// removed) and fails, and so did the imported and outdated accounts before
// refusals were held to the floor. The raw medians are logged.
func TestLoginFailuresLookAlike(t *testing.T) {
	const warmup = 3
	// Six cases at once, each held to the floor of the most expensive
	// kind of hash: a round takes a few hundred milliseconds. 31 rounds
	// were stable alone, but in CI beside the other packages one case's
	// median drifted to 10.6% (0.947 against 1.047), so 61: a hash that
	// is skipped still shows 16-27%.
	const rounds = 61
	for _, e := range envs {
		t.Run(e.name, func(t *testing.T) {
			// Enough memory that the hash outweighs the database's writes:
			// 16 MiB, or 8 MiB under -race, which slows argon2id tenfold.
			memory := "16384"
			if raceEnabled {
				memory = "8192"
			}
			e = throttleEnv(t, e, map[string]string{
				"ROLEGATE_LOGIN_ACCOUNT_LIMIT": "1000", "ROLEGATE_LOGIN_IP_LIMIT": "100000", "ROLEGATE_ARGON2_MEMORY_KIB": memory,
				"ROLEGATE_HASH_CONCURRENCY": "6", // one slot per case: no case waits for another's hash
			})
			active := e.storedUser(t, roleUser)
			inactive, err := e.insertUser(t.Context(), roleUser, false)
			if err != nil {
				t.Fatal(err)
			}
			iterations := e.pbkdf2Iterations(t, 2.5)
			password := newPassword()
			imported := e.insertWithHash(t, password, djangoPBKDF2(t, password, iterations), true)
			importedInactive := e.insertWithHash(t, password, djangoPBKDF2(t, password, iterations), false)
			kib, _ := strconv.Atoi(memory)
			outdated := e.insertWithHash(t, password, outdatedArgon2(password, uint32(kib/4)), true)
			t.Logf("imported hashes: pbkdf2_sha256 with %d iterations; outdated: argon2id m=%d t=1", iterations, kib/4)
			e.srv.CalibrateHasher(t.Context())
			cases := []struct {
				name, username, password string
			}{
				{"unknown user", unique("nobody"), newPassword()},
				{"wrong password", active.Username, "wrong-" + newPassword()},
				{"inactive account", inactive.Username, inactive.Password},
				{"imported PBKDF2, wrong password", imported.Username, "wrong-" + newPassword()},
				{"imported PBKDF2, inactive", importedInactive.Username, password},
				{"outdated argon2id, wrong password", outdated.Username, "wrong-" + newPassword()},
			}
			n := len(cases)
			raw := make([][]time.Duration, n)
			relative := make([][]float64, n)
			var first *response
			for round := range warmup + rounds {
				took := make([]time.Duration, n)
				answers := make([]*response, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				// In a new order each round: the login sent first gets
				// ahead in every queue (SQLite's one writer, above all).
				for _, i := range rand.Perm(n) {
					req := mustRequest(t, e, http.MethodPost, "/v1/auth/login", obj{"username": cases[i].username, "password": cases[i].password})
					wg.Go(func() {
						start := time.Now()
						answers[i], errs[i] = e.roundTrip(req)
						took[i] = time.Since(start)
					})
				}
				wg.Wait()
				for i, r := range answers {
					if errs[i] != nil {
						t.Fatal(errs[i])
					}
					checkResponse(t, r, nil)
					wantBadCredentials(t, r)
					if first == nil {
						first = r
					}
					wantSameAnswer(t, first, r)
				}
				if round < warmup {
					continue
				}
				var sum time.Duration
				for _, d := range took {
					sum += d
				}
				for i, d := range took {
					raw[i] = append(raw[i], d)
					relative[i] = append(relative[i], float64(d)*float64(n)/float64(sum))
				}
			}
			medians := make([]float64, n)
			for i := range cases {
				medians[i] = medianOf(relative[i])
				t.Logf("%s: median %v of %d logins; %.3f of its round's mean", cases[i].name, median(raw[i]), len(raw[i]), medians[i])
			}
			lo, hi := slices.Min(medians), slices.Max(medians)
			if hi-lo >= 0.10*lo {
				t.Errorf("median relative login times %.3f (in the order logged) differ by %.1f%%, want under 10%%",
					medians, 100*(hi-lo)/lo)
			}
		})
	}
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
