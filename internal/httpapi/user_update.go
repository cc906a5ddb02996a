package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// updateGrants are the policy's answers an update may need, asked before
// the write because they do not depend on the user's row; whether they
// are needed does, and check applies them to the row as locked.
type updateGrants struct {
	target         models.Resource
	assign, rename models.Decision
	// renameCounted is set once a rename has been counted against the
	// caller's limits.
	renameCounted bool
}

// grantsFor asks the policy what patch may need. A rename the policy
// allows, of a user whose name differs from the body's as last read,
// counts against the caller's and the address's limits before it is
// tried, so that a burst of probes for taken names cannot all pass before
// the counter sees them.
func (h *handler) grantsFor(c *gin.Context, pol *authz.Policy, target models.Resource, patch models.UserPatch) (updateGrants, error) {
	ctx := c.Request.Context()
	sub := subject(principal(ctx))
	g := updateGrants{target: target}
	var err error
	if patch.TouchesAccess() {
		if g.assign, err = h.decide(pol, sub, target, models.ActionAssignRole); err != nil {
			return g, err
		}
	}
	if patch.Username == nil {
		return g, nil
	}
	if g.rename, err = h.decide(pol, sub, target, models.ActionRename); err != nil || !g.rename.Allowed {
		return g, err
	}
	current, err := h.users.UserByID(ctx, target.OwnerID)
	if err != nil || !patch.RenamesUser(current) {
		return g, err
	}
	if err := h.throttle.CheckRename(ctx, sub.ID, c.ClientIP()); err != nil {
		return g, err
	}
	if err := h.throttle.RenameAttempted(ctx, sub.ID, c.ClientIP()); err != nil {
		return g, err
	}
	g.renameCounted = true
	return g, nil
}

// errRenamedMeanwhile refuses a rename that the user's row as locked
// needs but the last read did not, so that it was never counted.
var errRenamedMeanwhile = models.Errorf(models.ECONFLICT, "The user was renamed by another request; read it again and retry.")

// check is the update's UserCheck: it refuses, on the locked row, a change
// of the role, the active flag or the username that the policy does not
// allow, and a rename that was not counted.
func (g updateGrants) check(locked *models.User, p models.UserPatch) error {
	deny := func(action string, d models.Decision) error {
		return &deniedError{resource: g.target.Type, action: action, version: d.PolicyVersion}
	}
	switch {
	case p.ChangesAccess(locked) && !g.assign.Allowed:
		return deny(models.ActionAssignRole, g.assign)
	case p.RenamesUser(locked) && !g.rename.Allowed:
		return deny(models.ActionRename, g.rename)
	case p.RenamesUser(locked) && !g.renameCounted:
		return errRenamedMeanwhile
	}
	return nil
}
