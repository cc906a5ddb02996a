package audit

import (
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// maxReloadErrors caps the load errors kept in a reload event's detail: a
// policy file broken on every line should not make a huge event.
const maxReloadErrors = 20

// ReloadEvent describes a policy reload attempt. The caller fills in who
// asked, when it was a person.
func ReloadEvent(r authz.ReloadResult) models.AuditEvent {
	e := models.AuditEvent{
		At: r.At, Action: models.AuditPolicyReload, Target: models.ResourcePolicy,
		Result: models.AuditSuccess, PolicyVersion: r.Version,
		Detail: map[string]any{"trigger": r.Trigger, "changed": r.Changed},
	}
	if !r.OK {
		e.Result = models.AuditFailure
		errs := r.Errors
		if len(errs) > maxReloadErrors {
			e.Detail["errors_omitted"] = len(errs) - maxReloadErrors
			errs = errs[:maxReloadErrors]
		}
		e.Detail["errors"] = errs
	}
	return e
}
