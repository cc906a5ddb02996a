package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

var policyResource = models.Resource{Type: models.ResourcePolicy}

// getPolicy describes the policy in force: its version, when and where it
// was loaded from, its rules and routes, and how the last reload attempt
// went.
func (h *handler) getPolicy(c *gin.Context) {
	pol := h.policies.Current()
	if _, err := h.authorize(c, pol, policyResource, models.ActionRead); err != nil {
		writeError(c, h.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"version":     pol.Version(),
		"loaded_at":   pol.LoadedAt().Format(time.RFC3339Nano),
		"origin":      h.policies.Origin(),
		"roles":       pol.Roles(),
		"rules":       pol.Rules(),
		"routes":      pol.Routes(),
		"last_reload": h.policies.Last(),
	})
}

// ReloadTrigger is the trigger of reloads asked for through the API. This
// package records their audit events, with the caller; whoever observes
// every reload should leave these out.
const ReloadTrigger = "api"

// reloadPolicy reloads the policy now. A policy that does not load, or
// fails its own tests, is refused with 422 and every error with its file
// and line; the previous policy keeps serving.
func (h *handler) reloadPolicy(c *gin.Context) {
	d, err := h.authorize(c, h.policies.Current(), policyResource, models.ActionReload)
	if err != nil {
		writeError(c, h.log, err)
		return
	}
	res := h.policies.Reload(c.Request.Context(), ReloadTrigger)
	e := audit.ReloadEvent(res)
	e.Rule = strings.Join(d.Rule, ", ")
	h.record(c, e)
	c.Header("X-Policy-Version", res.Version)
	if !res.OK {
		c.JSON(http.StatusUnprocessableEntity, gin.H{
			"detail": "The policy was not reloaded; the previous policy is still in force.",
			"code":   "policy_invalid", "version": res.Version, "errors": nonNil(res.Errors),
		})
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": res.Version, "changed": res.Changed, "reload": res})
}

func nonNil(errs []authz.LoadError) []authz.LoadError {
	if errs == nil {
		return []authz.LoadError{}
	}
	return errs
}
