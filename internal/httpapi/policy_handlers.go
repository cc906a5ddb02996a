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
func (h *handler) getPolicy(c *gin.Context) error {
	pol := h.policies.Current()
	if _, err := h.authorize(c, pol, policyResource, models.ActionRead); err != nil {
		return err
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
	return nil
}

// ReloadTrigger is the trigger of reloads asked for through the API. This
// package records their audit events, with the caller; whoever observes
// every reload should leave these out.
const ReloadTrigger = "api"

// reloadPolicy reloads the policy now. A policy that does not load, or
// fails its own tests, is refused with 422 and every error with its file
// and line; the previous policy keeps serving.
func (h *handler) reloadPolicy(c *gin.Context) error {
	d, err := h.authorize(c, h.policies.Current(), policyResource, models.ActionReload)
	if err != nil {
		return err
	}
	res := h.policies.Reload(c.Request.Context(), ReloadTrigger)
	e := audit.ReloadEvent(res)
	e.Rule = strings.Join(d.Rule, ", ")
	h.record(c, e)
	c.Header("X-Policy-Version", res.Version)
	if !res.OK {
		return reloadRefused(res)
	}
	c.JSON(http.StatusOK, gin.H{"version": res.Version, "changed": res.Changed, "reload": res})
	return nil
}

// reloadRefused is the 422 of a reload that failed: the version still in
// force, and every error with its file and line.
func reloadRefused(res authz.ReloadResult) error {
	errs := res.Errors
	if errs == nil {
		errs = []authz.LoadError{}
	}
	return &models.Error{
		Code: ePolicyInvalid, Message: "The policy was not reloaded; the previous policy is still in force.",
		Details: map[string]any{"version": res.Version, "errors": errs},
	}
}
