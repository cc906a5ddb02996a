package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/console"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
)

// benchUsers is how many users the benchmarks seed: ROLEGATE_BENCH_USERS,
// 20,000 by default so that a smoke run is quick; docs/performance.md
// gives the figures at 1,000,000. ROLEGATE_BENCH_DB=sqlite or postgres
// runs one database only.
func benchUsers(b *testing.B) int {
	n := 20000
	if s := os.Getenv("ROLEGATE_BENCH_USERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("ROLEGATE_BENCH_USERS=%q: want a positive count", s)
		}
	}
	return n
}

// seed inserts n users in batches through plain SQL, in one transaction:
// the store's CreateUser would take hours for a million.
func seed(b *testing.B, e *env, n int) {
	b.Helper()
	db, err := e.srv.Store.SQLDB()
	if err != nil {
		b.Fatal(err)
	}
	ph := func(i int) string {
		if e.name == "postgres" {
			return "$" + strconv.Itoa(i)
		}
		return "?"
	}
	const batch, cols = 500, 13
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for first := 0; first < n; first += batch {
		var q strings.Builder
		q.WriteString(`INSERT INTO users (username, username_key, username_skeleton, email, first_name, last_name, role, is_active,
			password_hash, token_epoch, account_key, date_joined, last_login) VALUES `)
		var args []any
		for i := first; i < min(first+batch, n); i++ {
			if i > first {
				q.WriteString(",")
			}
			q.WriteString("(")
			for c := range cols {
				if c > 0 {
					q.WriteString(",")
				}
				q.WriteString(ph(len(args) + c + 1))
			}
			q.WriteString(")")
			name := fmt.Sprintf("bench%07d", i)
			var last any
			if i%3 != 0 {
				last = start.Add(time.Duration(i*7919%n) * time.Minute)
			}
			args = append(args, name, name, name, name+"@example.com", "First", "Last", []string{"user", "user", "staff", "admin"}[i%4],
				i%10 != 0, "$argon2id$bench", 0, fmt.Sprintf("k%d", i), start.Add(time.Duration(i)*time.Second), last)
		}
		if _, err := tx.Exec(q.String(), args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	seedMemberships(b, tx)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// Statistics, as PostgreSQL's autovacuum gathers them and as
	// "PRAGMA optimize" does for SQLite (docs/operations.md): without
	// them SQLite sorts a filtered list instead of walking the index of
	// its order.
	if _, err := db.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// seedMemberships puts every 100th user in the group support and every
// 100,000th in the group rare, and every 50th in the tenant bench-tenant:
// the users list's membership filters, common and rare.
func seedMemberships(b *testing.B, tx *sql.Tx) {
	b.Helper()
	for _, q := range []string{
		`INSERT INTO user_groups (user_id, group_name, created_at) SELECT id, 'support', date_joined FROM users WHERE id % 100 = 0`,
		`INSERT INTO user_groups (user_id, group_name, created_at) SELECT id, 'rare', date_joined FROM users WHERE id % 100000 = 7`,
		`INSERT INTO tenants (slug, name, is_active, settings, created_at) VALUES ('bench-tenant', 'Bench', true, '{}', CURRENT_TIMESTAMP)`,
		`INSERT INTO tenant_members (tenant_id, user_id, role, is_active, created_at)
			SELECT t.id, u.id, 'tenant:member', true, u.date_joined FROM users u, tenants t WHERE t.slug = 'bench-tenant' AND u.id % 50 = 0`,
	} {
		if _, err := tx.Exec(q); err != nil {
			b.Fatalf("seed memberships: %v", err)
		}
	}
}

// benchEnv is one server per database with n users and a signed-in
// administrator's cookie.
type benchEnv struct {
	*env
	cookie *http.Cookie
}

func newBenchEnvs(b *testing.B) []benchEnv {
	n := benchUsers(b)
	var out []benchEnv
	only := os.Getenv("ROLEGATE_BENCH_DB") // "sqlite" or "postgres"; empty runs both
	for _, target := range dbtest.Targets(b) {
		if only != "" && target.Name != only {
			continue
		}
		e := newEnv(b, target, nil)
		started := time.Now()
		seed(b, e, n)
		b.Logf("%s: seeded %d users in %s", e.name, n, time.Since(started).Round(time.Millisecond))
		admin := e.signIn(b, "admin")
		cookies := admin.client.Jar.Cookies(mustURL(admin.base))
		out = append(out, benchEnv{env: e, cookie: cookies[0]})
	}
	return out
}

var sinkBytes atomic.Int64

// serve runs one request through the console in process and returns the
// server's time for it.
func (e benchEnv) serve(b *testing.B, path string, w http.ResponseWriter) time.Duration {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.AddCookie(e.cookie)
	started := time.Now()
	e.console.ServeHTTP(w, r)
	return time.Since(started)
}

// BenchmarkUserList is the users page as an administrator: the first
// page and a page deep into the list, in every order, filtered and
// searched. It reports the server time's p50 and p99 per request.
func BenchmarkUserList(b *testing.B) {
	for _, e := range newBenchEnvs(b) {
		n := benchUsers(b)
		mid := fmt.Sprintf("bench%07d", n/2)
		deep := func(order string) string {
			// A cursor into the middle of the list, as "Next page" makes.
			u := &models.User{ID: int64(n / 2), Username: mid, DateJoined: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n/2) * time.Second)}
			return "&cursor=" + console.EncodeUserCursor(u, order)
		}
		cases := []struct{ name, path string }{
			{"first", "/console/users"},
			{"deep", "/console/users?o=id" + deep("id")},
			{"username_desc", "/console/users?o=-username"},
			{"username_deep", "/console/users?o=username" + deep("username")},
			{"date_joined_desc", "/console/users?o=-date_joined"},
			{"date_joined_deep", "/console/users?o=date_joined" + deep("date_joined")},
			{"last_login", "/console/users?o=last_login"},
			{"last_login_desc", "/console/users?o=-last_login"},
			{"filtered", "/console/users?role=staff&is_active=true&o=-date_joined"},
			{"search", "/console/users?q=" + mid[:10]},
			{"group", "/console/users?group=support"},
			{"group_username_desc", "/console/users?group=support&o=-username"},
			{"group_rare", "/console/users?group=rare"},
			{"tenant", "/console/users?tenant=bench-tenant"},
		}
		for _, c := range cases {
			b.Run(e.name+"/"+c.name, func(b *testing.B) {
				var times []time.Duration
				for b.Loop() {
					rec := httptest.NewRecorder()
					times = append(times, e.serve(b, c.path, rec))
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: got %d: %.300s", c.path, rec.Code, rec.Body.String())
					}
				}
				slices.Sort(times)
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// countingWriter is a ResponseWriter that counts and drops the body.
type countingWriter struct {
	h     http.Header
	bytes int64
	lines int64
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(int)     {}
func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += int64(len(p))
	for _, c := range p {
		if c == '\n' {
			w.lines++
		}
	}
	return len(p), nil
}
func (w *countingWriter) Flush() {}

// BenchmarkUserExport streams the whole user list as CSV and reports rows
// per second and the heap's growth while it streams.
func BenchmarkUserExport(b *testing.B) {
	for _, e := range newBenchEnvs(b) {
		b.Run(e.name, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				var peak atomic.Uint64
				ctx, stop := context.WithCancel(context.Background())
				go func() {
					var m runtime.MemStats
					for ctx.Err() == nil {
						runtime.ReadMemStats(&m)
						if m.HeapInuse > peak.Load() {
							peak.Store(m.HeapInuse)
						}
						time.Sleep(20 * time.Millisecond)
					}
				}()
				w := &countingWriter{h: http.Header{}}
				took := e.serve(b, "/console/users/export.csv", w)
				stop()
				rows := w.lines - 1
				b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
				b.ReportMetric(float64(int64(peak.Load())-int64(before.HeapInuse))/(1<<20), "heap-growth-MB")
				sinkBytes.Add(w.bytes)
			}
		})
	}
}
