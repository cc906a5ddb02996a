// Package authz owns the Casbin enforcer: it loads and validates the model
// and policy files, answers Decide(subject, resource, action), and swaps a
// new policy in atomically.
package authz

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/rolegate/rolegate/models"
)

// The request attributes rolegate can give a model, by the name a model's
// request definition uses for them. A model may use any subset that
// includes sub, obj and act, in any order.
const (
	attrRole = iota
	attrSubjectID
	attrResource
	attrOwnerID
	attrAction
)

var requestAttrs = map[string]int{
	"sub":      attrRole,
	"sub_id":   attrSubjectID,
	"obj":      attrResource,
	"owner_id": attrOwnerID,
	"act":      attrAction,
}

// Source is the text of a model, a policy, the policy's tests and its
// route table, and where they came from. The version covers what decides
// requests: the model, the policy and the route table, not the tests.
type Source struct {
	ModelFile  string
	PolicyFile string
	TestsFile  string
	// RoutesFile names the route table; empty means the policy has none.
	RoutesFile string
	Model      []byte
	Policy     []byte
	Tests      []byte
	Routes     []byte
	// Published is the database row the text came from; nil for files.
	Published *Published
}

// ReadSource reads a model file and a policy file.
func ReadSource(modelPath, policyPath string) (Source, error) {
	m, err := os.ReadFile(modelPath)
	if err != nil {
		return Source{}, LoadErrors{{File: modelPath, Reason: readReason(err)}}
	}
	p, err := os.ReadFile(policyPath)
	if err != nil {
		return Source{}, LoadErrors{{File: policyPath, Reason: readReason(err)}}
	}
	return Source{ModelFile: modelPath, PolicyFile: policyPath, Model: m, Policy: p}, nil
}

func readReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// Policy is one loaded and validated policy. It never changes after Compile
// returns, so it is safe for concurrent use; a reload builds a new one.
type Policy struct {
	enforcer *casbin.Enforcer
	// byObj, when not nil, holds one enforcer per resource type with the
	// same model, that type's rules and every g rule (see partition.go).
	byObj map[string]*partition
	// decisions caches answers when the matcher is pure (see cache.go).
	decisions *decisionCache
	// idRelation keys the cache by how the ids relate rather than by the
	// ids, for a matcher that only compares them (see idsOnlyCompared).
	idRelation bool
	attrs      []int // the request attribute at each position of the model's r
	version    string
	source     Source
	loadedAt   time.Time
	rules      []rule
	routes     []Route
	roles      []string // system roles
	adminRoles []string
	// tenantRoles and groups are the names the policy gives the other
	// layers' subjects (tenant:<role>, group:<name>), sorted; ownerRoles
	// are the tenant roles allowed to delete the tenant.
	tenantRoles []string
	groups      []Group
	ownerRoles  []string
}

// Load reads and compiles a model file and a policy file.
func Load(modelPath, policyPath string) (*Policy, error) {
	src, err := ReadSource(modelPath, policyPath)
	if err != nil {
		return nil, err
	}
	return Compile(src)
}

// Compile validates src and builds an enforcer for it. Every problem is
// reported as a LoadErrors with file and line.
func Compile(src Source) (*Policy, error) {
	modelName, policyName := filepath.Base(src.ModelFile), filepath.Base(src.PolicyFile)
	m, err := model.NewModelFromString(string(src.Model))
	if err != nil {
		return nil, LoadErrors{{File: modelName, Reason: err.Error()}}
	}
	attrs, lerr := requestLayout(m)
	if lerr != nil {
		lerr.File, lerr.Line = modelName, lineOf(src.Model, "r")
		return nil, LoadErrors{*lerr}
	}
	if errs := roleDefinitionErrors(modelName, src.Model, m); len(errs) > 0 {
		return nil, errs
	}
	rules, errs := parseRules(policyName, src.Policy, m)
	var routes []Route
	if src.RoutesFile != "" {
		var routeErrs LoadErrors
		routes, routeErrs = parseRoutes(filepath.Base(src.RoutesFile), src.Routes)
		errs = append(errs, routeErrs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	e, err := casbin.NewEnforcer(m, staticAdapter(rules))
	if err != nil {
		return nil, LoadErrors{{File: policyName, Reason: err.Error()}}
	}
	p := &Policy{enforcer: e, attrs: attrs, source: src, loadedAt: time.Now().UTC(), rules: rules, routes: routes}
	if cacheable(m["m"]["m"].Value) {
		p.decisions = newDecisionCache()
		p.idRelation = idsOnlyCompared(m["m"]["m"].Value)
	}
	if p.byObj, err = partitions(string(src.Model), m, rules); err != nil {
		return nil, LoadErrors{{File: policyName, Reason: err.Error()}}
	}
	// A matcher that cannot run must fail the load, not a request: check
	// the names it uses, then evaluate it against every rule with a request
	// that matches none.
	matcherErr := func(reason string) error {
		return LoadErrors{{File: modelName, Line: lineOf(src.Model, "m"), Reason: "matcher cannot be evaluated: " + reason}}
	}
	if reason := undefinedNames(m); reason != "" {
		return nil, matcherErr(reason)
	}
	if _, _, err := p.enforcer.EnforceEx(p.request("\x00", 0, models.Resource{Type: "\x00"}, "\x00")...); err != nil {
		return nil, matcherErr(err.Error())
	}
	p.version = version(src)
	p.roles = layerNames(rules, layerRole)
	p.tenantRoles = layerNames(rules, layerTenant)
	p.groups = groupsOf(rules, m, e)
	if p.adminRoles, err = p.rolesAllowedOverOthers(models.ResourceUsers, models.ActionAssignRole); err != nil {
		return nil, matcherErr(err.Error())
	}
	if p.ownerRoles, err = p.tenantRolesAllowed(models.ResourceTenant, models.ActionDelete); err != nil {
		return nil, matcherErr(err.Error())
	}
	return p, nil
}

var (
	stringLiteral = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matcherName   = regexp.MustCompile(`\b[rp][0-9]*_[A-Za-z0-9_]+\b`)
)

// undefinedNames returns why the matcher refers to a request or policy
// attribute that the model does not define, or "". Casbin would only notice
// when a request reaches that part of the expression.
func undefinedNames(m model.Model) string {
	defined := map[string]bool{"p_eft": true}
	for _, sec := range []string{"r", "p"} {
		for _, ast := range m[sec] {
			for _, t := range ast.Tokens {
				defined[t] = true
			}
		}
	}
	var missing []string
	for _, ast := range m["m"] {
		for _, name := range matcherName.FindAllString(stringLiteral.ReplaceAllString(ast.Value, `""`), -1) {
			if !defined[name] && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	for i, n := range missing {
		missing[i] = strings.Replace(n, "_", ".", 1)
	}
	return "undefined " + strings.Join(missing, ", ")
}

// requestLayout maps each position of the model's request definition to a
// request attribute.
func requestLayout(m model.Model) ([]int, *LoadError) {
	ast, ok := m["r"]["r"]
	if !ok {
		return nil, &LoadError{Reason: "the request definition must be named r"}
	}
	names := tokenNames("r", ast.Tokens)
	attrs := make([]int, len(names))
	seen := map[int]bool{}
	for i, n := range names {
		a, ok := requestAttrs[n]
		if !ok {
			return nil, &LoadError{Reason: fmt.Sprintf("request attribute %q is not one rolegate supplies (sub, sub_id, obj, owner_id, act)", n)}
		}
		attrs[i] = a
		seen[a] = true
	}
	if !seen[attrRole] || !seen[attrResource] || !seen[attrAction] {
		return nil, &LoadError{Reason: "the request definition must include sub, obj and act"}
	}
	return attrs, nil
}

func version(src Source) string {
	h := sha256.New()
	// Length-prefix each part so that moving text between the two files
	// always changes the version.
	fmt.Fprintf(h, "model:%d:", len(src.Model))
	h.Write(src.Model)
	fmt.Fprintf(h, "policy:%d:", len(src.Policy))
	h.Write(src.Policy)
	// The route table decides forwarded requests, so editing it is a new
	// version; a policy without one keeps the version of its two files.
	if src.RoutesFile != "" {
		fmt.Fprintf(h, "routes:%d:", len(src.Routes))
		h.Write(src.Routes)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Decide answers whether sub may do action on res. It asks the policy
// about each layer of sub in turn: the system role, each group, and, only
// when sub.Tenant is set, the tenant role and the break-glass grant. The
// first layer that allows decides, and Decision.Via names it. An error
// means the enforcer could not decide; callers must treat it as a deny.
func (p *Policy) Decide(sub models.Subject, res models.Resource, action string) (models.Decision, error) {
	d, _, _, err := p.decide(sub, res, action)
	return d, err
}

// decide is Decide, also returning the layer and name of the subject that
// allowed, for Explain.
func (p *Policy) decide(sub models.Subject, res models.Resource, action string) (models.Decision, layer, string, error) {
	d := models.Decision{PolicyVersion: p.version}
	if ok, err := p.ask(&d, layerRole, sub.Role, sub.ID, res, action); ok || err != nil {
		return d, layerRole, sub.Role, err
	}
	for _, g := range sub.Groups {
		if ok, err := p.ask(&d, layerGroup, g, sub.ID, res, action); ok || err != nil {
			return d, layerGroup, g, err
		}
	}
	if t := sub.Tenant; t != nil {
		if ok, err := p.ask(&d, layerTenant, t.Role, sub.ID, res, action); ok || err != nil {
			return d, layerTenant, t.Role, err
		}
		if ok, err := p.ask(&d, layerBreakGlass, t.BreakGlass, sub.ID, res, action); ok || err != nil {
			return d, layerBreakGlass, t.BreakGlass, err
		}
	}
	return d, 0, "", nil
}

// ask asks the policy about the subject name of layer l and, on an allow,
// records it in d. A name no layer can hold is denied without asking.
func (p *Policy) ask(d *models.Decision, l layer, name string, id int64, res models.Resource, action string) (bool, error) {
	if !askable(name) {
		return false, nil
	}
	ok, rule, err := p.enforce(l, name, id, res, action)
	if err != nil {
		return false, models.Unavailable(fmt.Errorf("enforce %s %s %s: %w", l.subject(name), res.Type, action, err))
	}
	if ok {
		d.Allowed, d.Rule, d.Via = true, rule, l.via()
	}
	return ok, nil
}

// request lays out the attributes in the order of the model's request
// definition; subject is the policy subject, prefix included.
func (p *Policy) request(subject string, subjectID int64, res models.Resource, action string) []any {
	rvals := make([]any, len(p.attrs))
	for i, a := range p.attrs {
		switch a {
		case attrRole:
			rvals[i] = subject
		case attrSubjectID:
			rvals[i] = idString(subjectID)
		case attrResource:
			rvals[i] = res.Type
		case attrOwnerID:
			rvals[i] = idString(res.OwnerID)
		case attrAction:
			rvals[i] = action
		}
	}
	return rvals
}

// enforce answers from the decision cache when it can, and otherwise asks
// Casbin (evaluate). The subject's policy name and the request are built
// only on a miss, so that a warm decision allocates nothing of its own.
func (p *Policy) enforce(l layer, name string, subjectID int64, res models.Resource, action string) (bool, []string, error) {
	if p.decisions == nil {
		return p.evaluate(l.subject(name), subjectID, res, action)
	}
	keySub, keyOwner := subjectID, res.OwnerID
	if p.idRelation {
		keySub, keyOwner = idRelation(subjectID, res.OwnerID)
	}
	key := decisionKey{layer: l, name: name, resource: res.Type, action: action, subjectID: keySub, ownerID: keyOwner}
	if ok, rule, hit := p.decisions.get(key); hit {
		return ok, rule, nil
	}
	ok, rule, err := p.evaluate(l.subject(name), subjectID, res, action)
	if err == nil {
		// The stored key outlives the call, so it holds its own copy of
		// the name, not the caller's (see layer.subject).
		stored := decisionKey{layer: l, name: strings.Clone(name), resource: res.Type, action: action, subjectID: keySub, ownerID: keyOwner}
		p.decisions.put(stored, ok, rule)
	}
	return ok, rule, err
}

// evaluate asks Casbin, with the partition of the request's resource type
// when the policy has partitions. A type no rule names has no partition,
// and no rule could match it, nor one of a partition's rules a subject
// the partition does not admit: a deny.
func (p *Policy) evaluate(subject string, subjectID int64, res models.Resource, action string) (bool, []string, error) {
	if p.byObj == nil {
		return p.enforcer.EnforceEx(p.request(subject, subjectID, res, action)...)
	}
	pt, ok := p.byObj[res.Type]
	if !ok || !pt.admits(subject) {
		return false, nil, nil
	}
	return pt.enforcer.EnforceEx(p.request(subject, subjectID, res, action)...)
}

// idString renders an id for the enforcer: "" for none, so that "own"
// never matches an anonymous caller or an ownerless target.
func idString(id int64) string {
	if id <= 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// rolesAllowedOverOthers returns the system roles that may do action on
// an object of resource owned by someone else.
func (p *Policy) rolesAllowedOverOthers(resource, action string) ([]string, error) {
	return p.namesAllowed(p.roles, layerRole, models.Resource{Type: resource, OwnerID: 2}, action)
}

// tenantRolesAllowed returns the tenant roles whose members may do action
// on resource, which has no owner.
func (p *Policy) tenantRolesAllowed(resource, action string) ([]string, error) {
	return p.namesAllowed(p.tenantRoles, layerTenant, models.Resource{Type: resource}, action)
}

// namesAllowed returns those of names, subjects of layer l and user 1,
// that the policy lets do action on res.
func (p *Policy) namesAllowed(names []string, l layer, res models.Resource, action string) ([]string, error) {
	var out []string
	for _, name := range names {
		ok, _, err := p.enforce(l, name, 1, res, action)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, name)
		}
	}
	return out, nil
}

// Version is the sha256 of the model, the policy and the route table.
func (p *Policy) Version() string { return p.version }

// LoadedAt is when the policy was compiled.
func (p *Policy) LoadedAt() time.Time { return p.loadedAt }

// Source returns the files the policy was compiled from.
func (p *Policy) Source() Source { return p.source }

// Roles lists the system roles the policy defines (the subjects without a
// prefix, "anonymous" aside), sorted: the roles a user can hold. Tenant
// roles and groups are never among them.
func (p *Policy) Roles() []string { return slices.Clone(p.roles) }

// HasRole reports whether the policy defines the system role role.
func (p *Policy) HasRole(role string) bool { return slices.Contains(p.roles, role) }

// AdminGuard returns the system roles that may assign roles to other
// users. The last active holder of one of them must not be removed.
func (p *Policy) AdminGuard() models.AdminGuard {
	return models.AdminGuard{Roles: slices.Clone(p.adminRoles), TenantOwners: p.TenantGuard()}
}

// TenantRoles lists the tenant roles the policy defines (every name of a
// "tenant:<role>" subject), sorted: the roles a membership can hold.
func (p *Policy) TenantRoles() []string { return slices.Clone(p.tenantRoles) }

// HasTenantRole reports whether the policy defines the tenant role role.
func (p *Policy) HasTenantRole(role string) bool { return slices.Contains(p.tenantRoles, role) }

// TenantGuard returns the owner-like tenant roles: those the policy lets
// delete the tenant ("tenant, delete"). A tenant must always keep an
// active member holding one.
func (p *Policy) TenantGuard() models.TenantGuard {
	return models.TenantGuard{Roles: slices.Clone(p.ownerRoles)}
}

// CheckTenantCreatorRole returns why role cannot be the role the creator
// of a tenant gets (ROLEGATE_TENANT_CREATOR_ROLE), or nil: it must be a
// tenant role the policy defines and an owner-like one (TenantGuard), or
// a new tenant would start without an owner.
func (p *Policy) CheckTenantCreatorRole(role string) error {
	switch {
	case !p.HasTenantRole(role):
		return fmt.Errorf("%q is not a tenant role the policy defines (%s)", role, strings.Join(p.tenantRoles, ", "))
	case !slices.Contains(p.ownerRoles, role):
		return fmt.Errorf("tenant role %q may not delete the tenant, so a tenant created with it would have no owner (owner-like roles: %s)",
			role, strings.Join(p.ownerRoles, ", "))
	}
	return nil
}

// GrantableTenantRoles returns the tenant roles sub may give a member or
// take from one ("grant" on "tenant_role:<role>"), in TenantRoles order.
// sub should carry the tenant context of the tenant in question. An error
// means the enforcer could not decide.
func (p *Policy) GrantableTenantRoles(sub models.Subject) ([]string, error) {
	var out []string
	for _, role := range p.tenantRoles {
		d, err := p.Decide(sub, models.Resource{Type: models.TenantRoleResource(role)}, models.ActionGrant)
		if err != nil {
			return nil, err
		}
		if d.Allowed {
			out = append(out, role)
		}
	}
	return out, nil
}

// Rules returns the policy's rules as lines of fields, type first.
func (p *Policy) Rules() [][]string {
	out := make([][]string, len(p.rules))
	for i, r := range p.rules {
		out[i] = append([]string{r.ptype}, r.vals...)
	}
	return out
}

// RuleLines returns the policy file line of each rule, in the order Rules
// lists them, so that tools can point a security team at the line that
// decided or that needs fixing.
func (p *Policy) RuleLines() []int {
	out := make([]int, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.line
	}
	return out
}

// Authorizer holds the current policy and swaps in new ones atomically.
// A caller that makes several decisions for one request should take one
// Policy with Current and use it throughout.
type Authorizer struct {
	cur atomic.Pointer[Policy]
}

// NewAuthorizer returns an Authorizer serving p.
func NewAuthorizer(p *Policy) *Authorizer {
	a := &Authorizer{}
	a.cur.Store(p)
	return a
}

// Current returns the policy in force.
func (a *Authorizer) Current() *Policy { return a.cur.Load() }

// Swap puts p in force and returns the policy it replaced.
func (a *Authorizer) Swap(p *Policy) *Policy { return a.cur.Swap(p) }

// staticAdapter feeds already-parsed rules to Casbin. It is read-only:
// policy changes go through the files.
type staticAdapter []rule

func (a staticAdapter) LoadPolicy(m model.Model) error {
	for _, r := range a {
		if err := m.AddPolicy(r.sec, r.ptype, r.vals); err != nil {
			return fmt.Errorf("line %d: %w", r.line, err)
		}
	}
	return nil
}

var errReadOnly = errors.New("the policy is read-only at runtime; edit the policy file")

func (staticAdapter) SavePolicy(model.Model) error                { return errReadOnly }
func (staticAdapter) AddPolicy(string, string, []string) error    { return errReadOnly }
func (staticAdapter) RemovePolicy(string, string, []string) error { return errReadOnly }
func (staticAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}
