package console_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/console"
	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// TestPolicyPageAndExplain: the matrix links every grant to its line, and
// the explain form names the deciding line.
func TestPolicyPageAndExplain(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		r := admin.get(t, "/console/policy")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, `id="L1"`, "tenant:owner", "group:support", "break_glass:read")
		r = admin.get(t, "/console/policy/explain?role=staff&resource=users&action=list")
		wantContains(t, r, "Allow", "p, staff, users, list, any (policy.csv:")
		r = admin.get(t, "/console/policy/explain?role=staff&resource=users&action=delete&owner=other")
		wantContains(t, r, "Deny", "no rule matched")
		r = admin.get(t, "/console/policy/explain?role=user&group=support&resource=users&action=list")
		wantContains(t, r, "via group:support")
		r = admin.postCSRF(t, "/console/policy/reload", nil)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "Reloaded")
	})
}

// readShipped reads the shipped policy as "rolegate policy publish" would.
func readShipped(t *testing.T) authz.Source {
	t.Helper()
	src, err := authz.ReadSource("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	if src.Tests, err = os.ReadFile("../../policy/policy_test.csv"); err != nil {
		t.Fatal(err)
	}
	src.RoutesFile, src.TestsFile = "../../policy/routes.csv", "../../policy/policy_test.csv"
	if src.Routes, err = os.ReadFile(src.RoutesFile); err != nil {
		t.Fatal(err)
	}
	return src
}

func publish(t *testing.T, st *store.Store, src authz.Source, comment string) models.PolicyVersion {
	t.Helper()
	p, err := authz.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.PublishPolicyVersion(context.Background(), models.PolicyVersion{
		Version: p.Version(), Model: string(src.Model), Policy: string(src.Policy), Routes: string(src.Routes), Tests: string(src.Tests),
		PublishedBy: "test", Comment: comment,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRollbackInDatabaseMode: the published versions are listed, an
// administrator rolls back to an older one, which is published again as
// the newest and put in force; staff cannot.
func TestRollbackInDatabaseMode(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st, err := store.Open(context.Background(), target.URL, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			src := readShipped(t)
			v1 := publish(t, st, src, "first")
			src.Policy = append(src.Policy, []byte("\n# a comment makes a new version\n")...)
			v2 := publish(t, st, src, "second")
			st.Close()
			e := newEnv(t, target, map[string]string{"ROLEGATE_POLICY_SOURCE": "database"})
			if got := e.srv.Policy.Current().Version(); got != v2.Version {
				t.Fatalf("got version %s in force, want the newest %s", got, v2.Version)
			}

			staff := e.signIn(t, "staff")
			wantStatus(t, staff.postCSRF(t, "/console/policy/rollback", url.Values{"version": {v1.Version}}), http.StatusForbidden)
			admin := e.signIn(t, "admin")
			r := admin.get(t, "/console/policy")
			wantContains(t, r, "Published versions", v1.Version[:12], v2.Version[:12], "Roll back to version "+v1.Version[:12])
			wantLacks(t, r, "Roll back to version "+v2.Version[:12])
			r = admin.postCSRF(t, "/console/policy/rollback", url.Values{"version": {v1.Version}})
			wantStatus(t, r, http.StatusOK)
			wantContains(t, r, "Reloaded: a new version is in force")
			if got := e.srv.Policy.Current().Version(); got != v1.Version {
				t.Fatalf("got version %s in force, want the rolled-back %s", got, v1.Version)
			}
			versions, err := e.srv.Store.ListPolicyVersions(t.Context(), 10)
			if err != nil || len(versions) != 3 || versions[0].Version != v1.Version || !strings.Contains(versions[0].Comment, "rollback to") ||
				versions[0].PublishedBy != "console:"+admin.Username {
				t.Fatalf("got %+v, %v; want a third version, v1 again, published by the admin", versions, err)
			}
			wantStatus(t, admin.postCSRF(t, "/console/policy/rollback", url.Values{"version": {"abc"}}), http.StatusBadRequest)
		})
	}
}

// TestReplicaVersions: two servers in database mode on one database each
// report the version they serve, at startup and on every reload, and the
// dashboard lists both, marking one that serves another version; staff,
// who may not read the policy, do not see them.
func TestReplicaVersions(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st, err := store.Open(context.Background(), target.URL, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			publish(t, st, readShipped(t), "first")
			st.Close()
			db := map[string]string{"ROLEGATE_POLICY_SOURCE": "database"}
			a := newEnv(t, target, db)
			b := newEnv(t, target, db)
			if a.srv.InstanceID() == b.srv.InstanceID() || a.srv.InstanceID() == "" {
				t.Fatalf("got instances %q and %q, want two distinct ids", a.srv.InstanceID(), b.srv.InstanceID())
			}
			admin := a.signIn(t, "admin")
			v1 := a.srv.Policy.Current().Version()
			r := admin.get(t, "/console/")
			wantStatus(t, r, http.StatusOK)
			wantContains(t, r, "Replicas", a.srv.InstanceID(), b.srv.InstanceID(), v1[:12])
			wantLacks(t, r, "differs from this server")

			// b alone takes a newly published version: a's dashboard shows it.
			src := readShipped(t)
			src.Policy = append(src.Policy, []byte("\n# replica test\n")...)
			v2 := publish(t, b.srv.Store, src, "replica test")
			if res := b.srv.Policy.Reload(t.Context(), "test"); !res.OK || b.srv.Policy.Current().Version() != v2.Version {
				t.Fatalf("got reload %+v, want b serving %s", res, v2.Version)
			}
			reps, err := a.srv.Store.Replicas(t.Context(), time.Now().Add(-console.ReplicaWindow), 10)
			if err != nil || len(reps) != 2 {
				t.Fatalf("got replicas %+v, %v; want 2", reps, err)
			}
			for _, rep := range reps {
				want := map[string]string{a.srv.InstanceID(): v1, b.srv.InstanceID(): v2.Version}[rep.Instance]
				if rep.Version != want {
					t.Errorf("got %s serving %s, want %s", rep.Instance, rep.Version, want)
				}
			}
			r = admin.get(t, "/console/")
			wantContains(t, r, v2.Version[:12], "differs from this server")
			wantLacks(t, a.signIn(t, "staff").get(t, "/console/"), "Replicas", b.srv.InstanceID())
		})
	}
}
