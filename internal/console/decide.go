package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/throttle"
	"github.com/rolegate/rolegate/models"
)

// subjectOf is the viewer as the policy sees them: id, role and groups,
// as the API's subject, so that a group's grants hold in the console too.
func subjectOf(u *models.User) models.Subject {
	return models.Subject{ID: u.ID, Role: u.Role, Groups: u.Groups}
}

// decide asks the request's policy about the viewer.
func (q *request) decide(res models.Resource, action string) (models.Decision, error) {
	return decideWith(q.pol, subjectOf(q.viewer), res, action)
}

// decideWith asks pol about sub; a failure to decide is EUNAVAILABLE.
func decideWith(pol *authz.Policy, sub models.Subject, res models.Resource, action string) (models.Decision, error) {
	d, err := pol.Decide(sub, res, action)
	if err != nil {
		return d, models.Unavailable(fmt.Errorf("decide %s %s: %w", res.Type, action, err))
	}
	return d, nil
}

// authorize is the policy's answer as an error: EFORBIDDEN, recorded in
// the audit trail as a denial, or EUNAVAILABLE when the policy cannot
// answer; never an allow by default.
func (q *request) authorize(res models.Resource, action string) error {
	_, err := q.allowed(res, action)
	return err
}

// allowed is authorize that also returns the allowing decision, for the
// audit event of the change that follows.
func (q *request) allowed(res models.Resource, action string) (models.Decision, error) {
	d, err := q.decide(res, action)
	if err != nil {
		return d, err
	}
	if !d.Allowed {
		q.recordDeny(d, res, action)
		return d, &models.Error{Code: models.EFORBIDDEN, Message: fmt.Sprintf("The policy does not let you %s %s.", strings.ReplaceAll(action, "_", " "), res.Type),
			Details: map[string]any{"resource": res.Type, "action": action}}
	}
	return d, nil
}

// Can reports whether the viewer holds action on the resource type, for
// showing a section or a button; a policy that cannot answer hides it.
// The server decides again when the button is used.
func (q *request) Can(resource, action string) bool {
	d, err := q.decide(models.Resource{Type: resource}, action)
	return err == nil && d.Allowed
}

// CanOn is Can about one user's object.
func (q *request) CanOn(resource, action string, owner int64) bool {
	d, err := q.decide(models.Resource{Type: resource, OwnerID: owner}, action)
	return err == nil && d.Allowed
}

func userTarget(id int64) string { return models.ResourceUsers + "/" + strconv.FormatInt(id, 10) }

// record sends e to the audit log with where it came from.
func (c *Console) record(r *http.Request, actor *models.User, e models.AuditEvent) {
	if actor != nil && e.ActorID == 0 {
		e.ActorID, e.ActorRole = actor.ID, actor.Role
	}
	e.ClientIP = clientOf(r)
	if e.PolicyVersion == "" {
		e.PolicyVersion = c.policies.Current().Version()
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	e.Detail["via"] = "console"
	c.audit.Record(r.Context(), e)
}

func (q *request) recordAllowed(d models.Decision, action, target string, detail map[string]any) {
	q.c.record(q.r, q.viewer, models.AuditEvent{
		Action: action, Result: models.AuditSuccess, Target: target,
		Rule: strings.Join(d.Rule, ", "), PolicyVersion: d.PolicyVersion, Detail: detail,
	})
}

func (q *request) recordDeny(d models.Decision, res models.Resource, action string) {
	detail := map[string]any{"resource": res.Type, "action": action}
	target := res.Type
	if res.OwnerID > 0 {
		detail["owner_id"] = res.OwnerID
		target = res.Type + "/" + strconv.FormatInt(res.OwnerID, 10)
	}
	q.c.record(q.r, q.viewer, models.AuditEvent{
		Action: models.AuditDecisionDeny, Result: models.AuditDeny, Target: target, PolicyVersion: d.PolicyVersion, Detail: detail,
	})
}

func (c *Console) recordLogin(r *http.Request, u *models.User) {
	c.record(r, u, models.AuditEvent{Action: models.AuditLoginSuccess, Result: models.AuditSuccess, Target: userTarget(u.ID)})
}

// recordLoginFailure is httpapi's: the username tried, clipped, never the
// password; a throttled attempt is counted by the API's 429 audit.
func (c *Console) recordLoginFailure(r *http.Request, username string, err error) {
	if models.ErrorCode(err) == models.ETHROTTLED {
		return
	}
	if len(username) > 150 {
		username = username[:150]
	}
	reason := models.AsError(err).Reason
	if reason == "" {
		reason = models.ErrorCode(err)
	}
	c.record(r, nil, models.AuditEvent{
		Action: models.AuditLoginFailure, Result: models.AuditFailure,
		Detail: map[string]any{"username": username, "reason": reason},
	})
}

// hashBucket is the hashing-slot key of a client address, as the API's.
func hashBucket(ip string) string { return throttle.Bucket(ip) }
