package peers

import (
	"context"
	"strconv"

	"github.com/casbin/casbin/v2"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// Engine answers questions. An error means it could not decide.
type Engine interface {
	Name() string
	Decide(ctx context.Context, q Question) (bool, error)
}

// Rolegate is rolegate's decision function, authz.Policy.Decide: the
// reference every other engine must agree with.
type Rolegate struct{ Policy *authz.Policy }

// Name is the engine's label in reports.
func (Rolegate) Name() string { return "rolegate Decide" }

// Decide asks the policy as rolegate's POST /v1/authz/check does, through
// the same code (internal/tenancy's Place and DecideIn): outside a
// tenant, one Decide of the subject with their groups; in a tenant, with
// their standing there too, and only if they may read the tenant at all
// (a tenant they may not see is a plain deny), and a yes of the tenant
// layer refused when the tenant is inactive.
func (r Rolegate) Decide(_ context.Context, q Question) (bool, error) {
	sub := models.Subject{ID: q.UserID, Role: q.Role}
	if q.Group != "" {
		sub.Groups = []string{q.Group}
	}
	res := models.Resource{Type: q.Resource, OwnerID: q.OwnerID}
	if q.Tenant == 0 {
		d, err := r.Policy.Decide(sub, res, q.Action)
		return d.Allowed, err
	}
	a := tenancy.Asker{Decide: (*authz.Policy).Decide}
	t := &models.Tenant{ID: q.Tenant, IsActive: !q.TenantInactive}
	v, err := a.Place(r.Policy, t, sub, models.TenantContext{TenantID: q.Tenant, Role: q.TenantRole})
	if err != nil || !v.Visible {
		return false, err
	}
	d, _, err := a.DecideIn(v, res, q.Action)
	return d.Allowed, err
}

// enforcer is what the two Casbin enforcers share.
type enforcer interface {
	Enforce(rvals ...any) (bool, error)
}

// Casbin is a plain Casbin enforcer on the same model.conf and policy.csv,
// asked as a service embedding Casbin would: the five attributes of the
// model's request, ids as strings and "" for none.
type Casbin struct {
	name string
	e    enforcer
}

// NewCasbin loads a casbin.Enforcer from the files.
func NewCasbin(modelFile, policyFile string) (*Casbin, *casbin.Enforcer, error) {
	e, err := casbin.NewEnforcer(modelFile, policyFile)
	if err != nil {
		return nil, nil, err
	}
	return &Casbin{name: "Casbin Enforcer", e: e}, e, nil
}

// NewCachedCasbin loads a casbin.SyncedCachedEnforcer from the files, with
// its cache on (the default) and no expiry, Casbin's documented setup.
func NewCachedCasbin(modelFile, policyFile string) (*Casbin, *casbin.SyncedCachedEnforcer, error) {
	e, err := casbin.NewSyncedCachedEnforcer(modelFile, policyFile)
	if err != nil {
		return nil, nil, err
	}
	return &Casbin{name: "Casbin SyncedCachedEnforcer", e: e}, e, nil
}

// Name is the engine's label in reports.
func (c *Casbin) Name() string { return c.name }

// Decide asks the enforcer about each layer of the subject in turn, as
// rolegate does (see Layered): the request's subject is the system role,
// then "group:<name>", then, in a tenant, "tenant:<role>".
func (c *Casbin) Decide(_ context.Context, q Question) (bool, error) {
	return Layered(q, func(subject, resource string, ownerID int64, action string) (bool, error) {
		return c.e.Enforce(subject, idString(q.UserID), resource, idString(ownerID), action)
	})
}

// CasbinRequest is q as the shipped model's request (sub, sub_id, obj,
// owner_id, act), for its system role: what a question outside tenants
// and groups is asked.
func CasbinRequest(q Question) []any {
	return []any{q.Role, idString(q.UserID), q.Resource, idString(q.OwnerID), q.Action}
}

// Layered decides q as rolegate does (Rolegate.Decide) with a policy that
// answers one subject at a time (ask): the system layer is the role and
// then each group; a question in a tenant also asks the tenant role, a
// yes of which an inactive tenant refuses, and is denied unless some layer
// may read the tenant.
func Layered(q Question, ask func(subject, resource string, ownerID int64, action string) (bool, error)) (bool, error) {
	system := []string{q.Role}
	if q.Group != "" {
		system = append(system, groupPrefix+q.Group)
	}
	var tenant []string
	if q.TenantRole != "" {
		tenant = []string{tenantPrefix + q.TenantRole}
	}
	anyOf := func(subjects []string, resource string, ownerID int64, action string) (bool, error) {
		for _, s := range subjects {
			if ok, err := ask(s, resource, ownerID, action); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	if q.Tenant == 0 {
		return anyOf(system, q.Resource, q.OwnerID, q.Action)
	}
	if ok, err := anyOf(append(system, tenant...), models.ResourceTenant, 0, models.ActionRead); !ok || err != nil {
		return false, err
	}
	if ok, err := anyOf(system, q.Resource, q.OwnerID, q.Action); ok || err != nil || q.TenantInactive {
		return ok, err
	}
	return anyOf(tenant, q.Resource, q.OwnerID, q.Action)
}

// idString renders an id as rolegate does for its enforcer: "" for none,
// so that "own" never matches an anonymous caller or an ownerless object.
func idString(id int64) string {
	if id <= 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
