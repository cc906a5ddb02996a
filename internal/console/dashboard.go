package console

import (
	"slices"
	"time"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// Viewer is the signed-in user, for the templates.
func (q *request) Viewer() *models.User { return q.viewer }

// CSRFToken is the session's CSRF token, for the templates' forms.
func (q *request) CSRFToken() string { return q.csrf }

// ReplicaWindow is how recently a replica must have reported the policy
// it serves for the dashboard to list it: a few of its once-a-minute
// reports (server.ReplicaHeartbeat).
const ReplicaWindow = 5 * time.Minute

// maxReplicas is the most replicas the dashboard lists.
const maxReplicas = 100

type roleCount struct {
	Role string
	N    int64
}

type dashboardView struct {
	// Counts is set when the viewer may list users.
	Counts *models.UserCounts
	Roles  []roleCount
	// Tenants is set when the viewer may list tenants.
	Tenants *models.TenantCounts
	// Events is set when the viewer may read the audit trail.
	Events     []models.AuditEvent
	ShowEvents bool
	// Policy is the policy in force; Last is the last reload, shown to
	// whoever may read the policy.
	Version    string
	LoadedAt   any
	ShowReload bool
	Last       authz.ReloadResult
	Origin     authz.Origin
	// Replicas are the replicas seen lately, in database mode, for whoever
	// may read the policy.
	Replicas     []models.Replica
	ShowReplicas bool
}

// dashboard shows what the viewer may see of the users, the audit trail
// and the policy.
func (c *Console) dashboard(q *request) error {
	ctx := q.r.Context()
	v := dashboardView{Version: q.pol.Version(), LoadedAt: q.pol.LoadedAt()}
	if q.Can(models.ResourceUsers, models.ActionList) {
		counts, err := c.users.CountUsersByRole(ctx)
		if err != nil {
			return err
		}
		v.Counts = &counts
		for role, n := range counts.ByRole {
			v.Roles = append(v.Roles, roleCount{role, n})
		}
		slices.SortFunc(v.Roles, func(a, b roleCount) int { return int(b.N - a.N) })
	}
	if q.Can(models.ResourceTenants, models.ActionList) {
		tc, err := c.userTenants.CountTenants(ctx)
		if err != nil {
			return err
		}
		v.Tenants = &tc
	}
	if q.Can(models.ResourceAudit, models.ActionRead) {
		events, err := c.auditEvents.ListAuditEvents(ctx, models.AuditFilter{Limit: 20})
		if err != nil {
			return err
		}
		v.Events, v.ShowEvents = events, true
	}
	if q.Can(models.ResourcePolicy, models.ActionRead) {
		v.ShowReload, v.Last, v.Origin = true, c.policies.Last(), c.policies.Origin()
		if c.replicas != nil {
			replicas, err := c.replicas.Replicas(ctx, c.now().Add(-ReplicaWindow), maxReplicas)
			if err != nil {
				return err
			}
			v.Replicas, v.ShowReplicas = replicas, true
		}
	}
	c.render(q.w, q.r, 200, "dashboard", q, v)
	return nil
}
