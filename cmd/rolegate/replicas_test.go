package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/syncbuf"
)

// replica is one "rolegate serve" process.
type replica struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncbuf.Buffer
}

// buildBinary builds rolegate once for the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rolegate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startReplica runs bin serve with env until the test ends, and waits for
// it to listen.
func startReplica(t *testing.T, bin string, env []string) *replica {
	t.Helper()
	r := &replica{cmd: exec.Command(bin, "serve"), stderr: &syncbuf.Buffer{}}
	r.cmd.Env = env
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.cmd.Process.Signal(os.Interrupt)
		r.cmd.Wait()
		if t.Failed() {
			t.Logf("replica %s log:\n%s", r.base, r.stderr.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); r.base == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("replica did not start:\n%s", r.stderr.String())
		}
		if addr := listeningAddr(r.stderr.String()); addr != "" {
			r.base = "http://" + addr
		}
	}
	return r
}

// listenerPID is the PostgreSQL backend of r's LISTEN connection, or 0.
func (r *replica) listenerPID(t *testing.T, db *sql.DB) int {
	t.Helper()
	var pid int
	err := db.QueryRow("SELECT pid FROM pg_stat_activity WHERE application_name = $1",
		fmt.Sprintf("rolegate-policy-listener-%d", r.cmd.Process.Pid)).Scan(&pid)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return pid
}

// waitConverged polls every replica until all serve version, for at most
// 5 seconds, and returns how long that took.
func waitConverged(t *testing.T, replicas []*replica, version string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		done := 0
		for _, r := range replicas {
			if policyVersionOf(t, r.base) == version {
				done++
			}
		}
		if done == len(replicas) {
			return time.Since(start)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%d of %d replicas serve %s after 5s", done, len(replicas), version)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReplicasConverge runs three servers in database mode on one
// PostgreSQL and publishes, rolls back and drops a listener under them.
func TestReplicasConverge(t *testing.T) {
	dbURL := dbtest.Postgres(t).URL
	getenv := publishEnv(t, dbURL, map[string]string{"ROLEGATE_POLICY_SOURCE": "database"})
	bin := buildBinary(t)
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	shipped := publishPolicy(t, getenv, "--comment", "shipped")
	env := os.Environ()
	for _, k := range []string{"ROLEGATE_DATABASE_URL", "ROLEGATE_POLICY_SOURCE", "ROLEGATE_JWT_KEY_FILE", "ROLEGATE_ARGON2_MEMORY_KIB", "ROLEGATE_ARGON2_ITERATIONS"} {
		env = append(env, k+"="+getenv(k))
	}
	env = append(env, "ROLEGATE_ADDR=127.0.0.1:0", "ROLEGATE_LOG_LEVEL=debug")
	// One at a time: the first creates the signing key the others share.
	var replicas []*replica
	for range 3 {
		replicas = append(replicas, startReplica(t, bin, env))
	}
	waitConverged(t, replicas, shipped)

	createUser := func(name, role string) int64 {
		out, err := runCmd(t, getenv, "correct horse battery staple\n", "users", "create", "--username", name, "--role", role, "--password-stdin")
		m := regexp.MustCompile(`created user (\d+)`).FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("users create %s: got %q, %v", name, out, err)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return id
	}
	createUser("staff1", "staff")
	_, tokens := postJSON(t, replicas[0].base+"/login/", map[string]string{"username": "staff1", "password": "correct horse battery staple"})
	staff, _ := tokens["access"].(string)
	deleteUser := func(r *replica, id int64) int {
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/v1/users/%d", r.base, id), nil)
		req.Header.Set("Authorization", "Bearer "+staff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// expectDecision has staff delete a throwaway user on every replica.
	expectDecision := func(want int) {
		t.Helper()
		for n, r := range replicas {
			victim := createUser(fmt.Sprintf("victim%d", time.Now().UnixNano()), "user")
			if got := deleteUser(r, victim); got != want {
				t.Errorf("replica %d: staff DELETE /v1/users/%d: got %d, want %d", n, victim, got, want)
			}
		}
	}
	expectDecision(http.StatusForbidden)

	// Publish a policy letting staff delete users, then the shipped one
	// again, several times, timing publish-to-converged.
	lax := policyWithStaffDelete(t)
	var laxVersion string
	var times []time.Duration
	for round := range 3 {
		laxVersion = publishPolicy(t, getenv, lax...)
		times = append(times, waitConverged(t, replicas, laxVersion))
		expectDecision(http.StatusNoContent)
		if round < 2 {
			publishPolicy(t, getenv, "--comment", "shipped again")
			times = append(times, waitConverged(t, replicas, shipped))
		}
	}
	slices.Sort(times)
	t.Logf("publish to all 3 converged: median %v, min %v, max %v over %d publishes (%v)", times[len(times)/2], times[0], times[len(times)-1], len(times), times)

	// A replica whose listener is killed reconnects and catches up with a
	// version published while it was not listening. The publish goes
	// straight through the store, prepared beforehand, so that it lands
	// within the replica's 0.5 s wait to reconnect; on a very busy host it
	// may not, which proves nothing either way, so that is tried again.
	victim := replicas[1]
	st, err := store.Open(context.Background(), dbURL, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	publishRow := func(version, comment string) {
		t.Helper()
		row, err := st.PolicyVersionByPrefix(context.Background(), version)
		if err != nil {
			t.Fatal(err)
		}
		row.Comment = comment
		if _, err := st.PublishPolicyVersion(context.Background(), row); err != nil {
			t.Fatal(err)
		}
	}
	shippedRow, err := st.PolicyVersionByPrefix(context.Background(), shipped)
	if err != nil {
		t.Fatal(err)
	}
	shippedRow.Comment = "published while replica 1 was not listening"
	var pid int
	for attempt := 1; ; attempt++ {
		pid = 0
		for deadline := time.Now().Add(5 * time.Second); pid == 0; time.Sleep(10 * time.Millisecond) {
			if pid = victim.listenerPID(t, db); pid == 0 && time.Now().After(deadline) {
				t.Fatal("no listener connection for replica 1")
			}
		}
		var killed bool
		if err := db.QueryRow("SELECT pg_terminate_backend($1, 5000)", pid).Scan(&killed); err != nil || !killed {
			t.Fatalf("terminate listener %d: got %v, %v", pid, killed, err)
		}
		// The replicas serve the lax policy; bring back the shipped one.
		if _, err := st.PublishPolicyVersion(context.Background(), shippedRow); err != nil {
			t.Fatal(err)
		}
		p := victim.listenerPID(t, db)
		if p == 0 {
			break
		}
		if attempt == 3 {
			t.Fatalf("replica 1 was listening again (backend %d) before the version was published, %d times; the test proves nothing", p, attempt)
		}
		t.Logf("attempt %d: replica 1 reconnected before the publish landed (a busy host); trying again", attempt)
		waitConverged(t, replicas, shipped)
		publishRow(laxVersion, "lax again, to retry")
		waitConverged(t, replicas, laxVersion)
	}
	took := waitConverged(t, replicas, shipped)
	t.Logf("publish with one listener down: all 3 converged %v after publish", took)
	if p := victim.listenerPID(t, db); p == 0 || p == pid {
		t.Errorf("replica 1 listener: got backend %d, want a new one (old %d)", p, pid)
	}
	if !strings.Contains(victim.stderr.String(), "policy listener failed; reconnecting") {
		t.Error("replica 1 did not log losing its listener")
	}
	expectDecision(http.StatusForbidden)

	// Rolling back to the lax version is a publish like any other.
	out, err := runCmd(t, getenv, "", "policy", "rollback", laxVersion[:10])
	if err != nil || !strings.Contains(out, "published policy version "+laxVersion) {
		t.Fatalf("rollback: got %q, %v", out, err)
	}
	t.Logf("rollback: all 3 converged %v after publish", waitConverged(t, replicas, laxVersion))
	expectDecision(http.StatusNoContent)
}
