package peers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// OPAQuery is the decision every OPA engine evaluates; OPAPath is the same
// decision under the server's data API.
const (
	OPAQuery = "data.rolegate.authz.allow"
	OPAPath  = "/v1/data/rolegate/authz/allow"
)

// OPAData is the data document policy/rolegate.rego reads for a policy
// and the directory d of users:
// {"rolegate": {"grants": {subject: {resource: {action: [scope...]}}},
// "roles": {subject: [subject, every subject it inherits...]},
// "memberships": {user id: {tenant id: {"role": role, "active": bool}}},
// "groups": {user id: [group...]}, "tenants": {tenant id: {"active": bool}}}},
// ids as decimal strings. A directory of size 0 gives no users or tenants.
func (p Policy) OPAData(d Directory) (map[string]any, error) {
	grants, inherits, err := p.Grants()
	if err != nil {
		return nil, err
	}
	g := map[string]any{}
	subjects := []string{}
	for _, gr := range grants {
		if !slices.Contains(subjects, gr.Role) {
			subjects = append(subjects, gr.Role)
		}
		byRes, ok := g[gr.Role].(map[string]any)
		if !ok {
			byRes = map[string]any{}
			g[gr.Role] = byRes
		}
		byAct, ok := byRes[gr.Resource].(map[string]any)
		if !ok {
			byAct = map[string]any{}
			byRes[gr.Resource] = byAct
		}
		scopes, _ := byAct[gr.Action].([]any)
		if !slices.Contains(scopes, any(gr.Scope)) {
			byAct[gr.Action] = append(scopes, gr.Scope)
		}
	}
	v, err := p.Vocabulary()
	if err != nil {
		return nil, err
	}
	for s := range inherits {
		subjects = append(subjects, s)
	}
	roles := map[string]any{}
	for _, r := range append(subjects, v.Roles...) {
		closure := []any{}
		for _, s := range ancestors(r, inherits) {
			closure = append(closure, s)
		}
		roles[r] = closure
	}
	data := map[string]any{"grants": g, "roles": roles}
	maps.Copy(data, d.OPAData())
	return map[string]any{"rolegate": data}, nil
}

// OPAData is the directory as OPA data: its users' memberships and
// groups, and its tenants.
func (d Directory) OPAData() map[string]any {
	memberships, groups, tenants := map[string]any{}, map[string]any{}, map[string]any{}
	if d.Size == 0 {
		return map[string]any{"memberships": memberships, "groups": groups, "tenants": tenants}
	}
	for t := int64(1); t <= d.TenantCount(); t++ {
		tenants[strconv.FormatInt(t, 10)] = map[string]any{"active": d.TenantActive(t)}
	}
	for id := int64(1); id <= d.Size; id++ {
		key := strconv.FormatInt(id, 10)
		if ms := d.Memberships(id); len(ms) > 0 {
			byTenant := make(map[string]any, len(ms))
			for _, m := range ms {
				byTenant[strconv.FormatInt(m.Tenant, 10)] = map[string]any{"role": m.Role, "active": m.Active}
			}
			memberships[key] = byTenant
		}
		if gs := d.Groups(id); len(gs) > 0 {
			list := make([]any, len(gs))
			for i, g := range gs {
				list[i] = g
			}
			groups[key] = list
		}
	}
	return map[string]any{"memberships": memberships, "groups": groups, "tenants": tenants}
}

// ancestors returns role and every role it inherits, nearest first, each
// once: what Casbin's g(role, x) is true for.
func ancestors(role string, inherits map[string][]string) []string {
	out := []string{role}
	for i := 0; i < len(out); i++ {
		for _, parent := range inherits[out[i]] {
			if !slices.Contains(out, parent) {
				out = append(out, parent)
			}
		}
	}
	return out
}

// OPAInput is a question as OPA's input document.
type OPAInput struct {
	Subject struct {
		Role string `json:"role"`
		ID   int64  `json:"id,omitempty"`
	} `json:"subject"`
	Resource struct {
		Type    string `json:"type"`
		OwnerID int64  `json:"owner_id,omitempty"`
	} `json:"resource"`
	Action string `json:"action"`
	Tenant string `json:"tenant,omitempty"`
}

// NewOPAInput is q as OPA's input: the subject's role and id, the
// resource, the action and the tenant's id. Not the subject's groups nor
// their standing in the tenant: OPA looks those up in its data.
func NewOPAInput(q Question) OPAInput {
	var in OPAInput
	in.Subject.Role, in.Subject.ID = q.Role, q.UserID
	in.Resource.Type, in.Resource.OwnerID = q.Resource, q.OwnerID
	in.Action = q.Action
	if q.Tenant != 0 {
		in.Tenant = strconv.FormatInt(q.Tenant, 10)
	}
	return in
}

// Value is the input as an AST value, which OPA evaluates without
// converting it from Go values first (rego.EvalParsedInput).
func (in OPAInput) Value() ast.Value {
	subject := [][2]*ast.Term{ast.Item(ast.StringTerm("role"), ast.StringTerm(in.Subject.Role))}
	if in.Subject.ID != 0 {
		subject = append(subject, ast.Item(ast.StringTerm("id"), ast.IntNumberTerm(int(in.Subject.ID))))
	}
	resource := [][2]*ast.Term{ast.Item(ast.StringTerm("type"), ast.StringTerm(in.Resource.Type))}
	if in.Resource.OwnerID != 0 {
		resource = append(resource, ast.Item(ast.StringTerm("owner_id"), ast.IntNumberTerm(int(in.Resource.OwnerID))))
	}
	items := [][2]*ast.Term{
		ast.Item(ast.StringTerm("subject"), ast.ObjectTerm(subject...)),
		ast.Item(ast.StringTerm("resource"), ast.ObjectTerm(resource...)),
		ast.Item(ast.StringTerm("action"), ast.StringTerm(in.Action)),
	}
	if in.Tenant != "" {
		items = append(items, ast.Item(ast.StringTerm("tenant"), ast.StringTerm(in.Tenant)))
	}
	return ast.NewObject(items...)
}

// OPA is OPA in process: the Rego file compiled once with its data into a
// prepared query, as OPA's Go documentation recommends, with the store
// keeping data as AST values so that no evaluation converts it.
type OPA struct {
	query rego.PreparedEvalQuery
}

// NewOPA prepares OPAQuery over the Rego file and data.
func NewOPA(ctx context.Context, regoFile string, data map[string]any) (*OPA, error) {
	src, err := os.ReadFile(regoFile)
	if err != nil {
		return nil, err
	}
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	pq, err := rego.New(
		rego.Query(OPAQuery),
		rego.Module(regoFile, string(src)),
		rego.Store(store),
		rego.StoreReadAST(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", regoFile, err)
	}
	return &OPA{query: pq}, nil
}

// Name is the engine's label in reports.
func (*OPA) Name() string { return "OPA rego (prepared query)" }

// Decide evaluates the prepared query on q.
func (o *OPA) Decide(ctx context.Context, q Question) (bool, error) {
	return o.DecideInput(ctx, NewOPAInput(q).Value())
}

// DecideInput evaluates the prepared query on an input already built, so
// that a benchmark times OPA, not the building of its input.
func (o *OPA) DecideInput(ctx context.Context, input ast.Value) (bool, error) {
	rs, err := o.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return false, err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return false, fmt.Errorf("%s: %d results, want 1", OPAQuery, len(rs))
	}
	allowed, ok := rs[0].Expressions[0].Value.(bool)
	if !ok {
		return false, fmt.Errorf("%s: %v is not a boolean", OPAQuery, rs[0].Expressions[0].Value)
	}
	return allowed, nil
}

// WriteOPAData writes the data document for OPA's server (opa run loads it
// as a data file beside the Rego file).
func WriteOPAData(path string, data map[string]any) error {
	b, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
