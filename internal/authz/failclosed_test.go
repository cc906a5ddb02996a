package authz_test

import (
	"os"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// TestDecideFailsClosedWhenTheMatcherFails loads a model whose matcher
// errors only for requests that reach a grant of scope "own" (keyMatch is
// handed a number), which Compile's probes do not reach. Casbin's error
// must come back as EUNAVAILABLE and a deny, never as an allow; requests
// that do not reach the failing part are decided as usual.
func TestDecideFailsClosedWhenTheMatcherFails(t *testing.T) {
	model, err := os.ReadFile("../httpapi/testdata/failing-matcher/model.conf")
	if err != nil {
		t.Fatal(err)
	}
	p := compile(t, authz.Source{
		ModelFile: "model.conf", PolicyFile: "policy.csv", Model: model,
		Policy: []byte("p, admin, users, read, any\np, user, users, read, own\n"),
	})
	own := models.Resource{Type: models.ResourceUsers, OwnerID: 7}
	for _, sub := range []models.Subject{{ID: 7, Role: "user"}, {ID: 8, Role: "user"}} {
		d, err := p.Decide(sub, own, models.ActionRead)
		if got := models.ErrorCode(err); got != models.EUNAVAILABLE {
			t.Errorf("Decide(%+v, own read): got error %v (code %q), want %s", sub, err, got, models.EUNAVAILABLE)
		}
		if d.Allowed || d.Rule != nil {
			t.Errorf("Decide(%+v, own read) with a failing matcher: got %+v, want a deny", sub, d)
		}
		if d.PolicyVersion != p.Version() {
			t.Errorf("Decide: got policy version %q, want %q", d.PolicyVersion, p.Version())
		}
	}
	if !decide(t, p, "admin", 1, models.ResourceUsers, 7, models.ActionRead) {
		t.Error("admin read any: got deny, want allow")
	}
	if decide(t, p, "user", 7, models.ResourceUsers, 7, models.ActionDelete) {
		t.Error("user delete own, which no rule grants: got allow, want deny")
	}
}
