package peers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"

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

// OPAData is the data document policy/rolegate.rego reads for a policy:
// {"rolegate": {"grants": {role: {resource: {action: [scope...]}}},
// "roles": {role: [role, every role it inherits...]}}}.
func (p Policy) OPAData() (map[string]any, error) {
	grants, inherits, err := p.Grants()
	if err != nil {
		return nil, err
	}
	g := map[string]any{}
	for _, gr := range grants {
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
	roles := map[string]any{}
	for _, r := range v.Roles {
		closure := []any{}
		for _, s := range ancestors(r, inherits) {
			closure = append(closure, s)
		}
		roles[r] = closure
	}
	return map[string]any{"rolegate": map[string]any{"grants": g, "roles": roles}}, nil
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
}

// NewOPAInput is q as OPA's input.
func NewOPAInput(q Question) OPAInput {
	var in OPAInput
	in.Subject.Role, in.Subject.ID = q.Role, q.UserID
	in.Resource.Type, in.Resource.OwnerID = q.Resource, q.OwnerID
	in.Action = q.Action
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
	return ast.NewObject(
		ast.Item(ast.StringTerm("subject"), ast.ObjectTerm(subject...)),
		ast.Item(ast.StringTerm("resource"), ast.ObjectTerm(resource...)),
		ast.Item(ast.StringTerm("action"), ast.StringTerm(in.Action)),
	)
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
