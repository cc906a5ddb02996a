package httpapi

import (
	"errors"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// TestUpdateCheck checks the decisions an update applies to the locked
// row: a change of role, active flag or username needs its grant; the same
// values as the locked row are no change; and a rename the last read did
// not foresee, and so did not count, is a conflict.
func TestUpdateCheck(t *testing.T) {
	allow := models.Decision{Allowed: true, PolicyVersion: "v1"}
	deny := models.Decision{PolicyVersion: "v1"}
	locked := &models.User{ID: 7, Username: "bob", Role: "user", IsActive: false}
	str := func(s string) *string { return &s }
	yes := true
	cases := []struct {
		name   string
		grants updateGrants
		patch  models.UserPatch
		want   string // the denied action, "conflict", or "" to allow
	}{
		{"role as locked", updateGrants{assign: deny}, models.UserPatch{Role: str("user")}, ""},
		{"role changed", updateGrants{assign: deny}, models.UserPatch{Role: str("staff")}, models.ActionAssignRole},
		{"reactivation", updateGrants{assign: deny}, models.UserPatch{IsActive: &yes}, models.ActionAssignRole},
		{"reactivation allowed", updateGrants{assign: allow}, models.UserPatch{IsActive: &yes}, ""},
		{"username as locked", updateGrants{rename: deny}, models.UserPatch{Username: str("bob")}, ""},
		{"rename", updateGrants{rename: deny}, models.UserPatch{Username: str("robert")}, models.ActionRename},
		{"rename counted", updateGrants{rename: allow, renameCounted: true}, models.UserPatch{Username: str("robert")}, ""},
		{"rename not counted", updateGrants{rename: allow}, models.UserPatch{Username: str("robert")}, "conflict"},
	}
	for _, c := range cases {
		c.grants.target = models.Resource{Type: models.ResourceUsers, OwnerID: 7}
		err := c.grants.check(locked, c.patch)
		var denied *deniedError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: got %v, want no error", c.name, err)
		case c.want == "conflict" && models.ErrorCode(err) != models.ECONFLICT:
			t.Errorf("%s: got %v, want ECONFLICT", c.name, err)
		case c.want != "" && c.want != "conflict" && (!errors.As(err, &denied) || denied.action != c.want || denied.version != "v1"):
			t.Errorf("%s: got %v, want a deny of %s under v1", c.name, err, c.want)
		}
	}
}
