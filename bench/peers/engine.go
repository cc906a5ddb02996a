package peers

import (
	"context"
	"strconv"

	"github.com/casbin/casbin/v2"

	"github.com/rolegate/rolegate/internal/authz"
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

// Decide asks the policy.
func (r Rolegate) Decide(_ context.Context, q Question) (bool, error) {
	d, err := r.Policy.Decide(models.Subject{ID: q.UserID, Role: q.Role}, models.Resource{Type: q.Resource, OwnerID: q.OwnerID}, q.Action)
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

// Decide enforces the question's request.
func (c *Casbin) Decide(_ context.Context, q Question) (bool, error) {
	return c.e.Enforce(CasbinRequest(q)...)
}

// CasbinRequest is q as the shipped model's request (sub, sub_id, obj,
// owner_id, act).
func CasbinRequest(q Question) []any {
	return []any{q.Role, idString(q.UserID), q.Resource, idString(q.OwnerID), q.Action}
}

// idString renders an id as rolegate does for its enforcer: "" for none,
// so that "own" never matches an anonymous caller or an ownerless object.
func idString(id int64) string {
	if id <= 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
