package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policylint"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/models"
)

// matrix is one layer of the policy: a row per resource and action, a
// column per subject, and in each cell the grant's scope and line.
type matrix struct {
	Name     string
	Subjects []string
	Rows     []matrixRow
}

type matrixRow struct {
	Resource, Action string
	Cells            []matrixCell
}

type matrixCell struct {
	Scope string
	Line  int
}

type sourceLine struct {
	N    int
	Text string
}

type policyView struct {
	Version   string
	LoadedAt  any
	File      string
	Layers    []matrix
	Others    []sourceLine // g and g2 lines
	Source    []sourceLine
	CanReload bool
	Last      authz.ReloadResult
	Reloaded  bool
	Origin    authz.Origin
	// Versions are the published versions, newest (in force) first, in
	// database mode.
	Versions []models.PolicyVersion
}

// tenantLayer reports whether a policy subject belongs to the tenant
// layer: a tenant role, or the holders of a break-glass grant.
func tenantLayer(subject string) bool {
	return strings.HasPrefix(subject, "tenant:") || strings.HasPrefix(subject, "break_glass:")
}

// matrices builds the two layers' matrices from the policy's grants, in
// the order the file lists them.
func matrices(pol *authz.Policy) ([]matrix, []sourceLine) {
	layers := []matrix{{Name: "System layer"}, {Name: "Tenant layer"}}
	type key struct {
		layer         int
		res, act, sub string
	}
	cells := map[key]matrixCell{}
	rows := [2][]matrixRow{}
	seenRow := map[key]bool{}
	var others []sourceLine
	lines := pol.RuleLines()
	for i, r := range pol.Rules() {
		if r[0] != "p" || len(r) < 5 {
			others = append(others, sourceLine{N: lines[i], Text: strings.Join(r, ", ")})
			continue
		}
		sub, res, act, scope := r[1], r[2], r[3], r[4]
		l := 0
		if tenantLayer(sub) {
			l = 1
		}
		if !slices.Contains(layers[l].Subjects, sub) {
			layers[l].Subjects = append(layers[l].Subjects, sub)
		}
		if rk := (key{l, res, act, ""}); !seenRow[rk] {
			seenRow[rk] = true
			rows[l] = append(rows[l], matrixRow{Resource: res, Action: act})
		}
		cells[key{l, res, act, sub}] = matrixCell{Scope: scope, Line: lines[i]}
	}
	for l := range layers {
		for _, row := range rows[l] {
			for _, sub := range layers[l].Subjects {
				row.Cells = append(row.Cells, cells[key{l, row.Resource, row.Action, sub}])
			}
			layers[l].Rows = append(layers[l].Rows, row)
		}
		slices.SortStableFunc(layers[l].Rows, func(a, b matrixRow) int { return strings.Compare(a.Resource, b.Resource) })
	}
	return layers, others
}

func sourceLines(text []byte) []sourceLine {
	var out []sourceLine
	for i, s := range strings.Split(strings.TrimSuffix(string(text), "\n"), "\n") {
		out = append(out, sourceLine{N: i + 1, Text: s})
	}
	return out
}

// policyMatrix is the policy section: the grants of both layers as
// matrices, each cell linking to its line of the policy file, shown below.
func (c *Console) policyMatrix(q *request) error {
	if err := q.authorize(models.Resource{Type: models.ResourcePolicy}, models.ActionRead); err != nil {
		return err
	}
	v, err := c.policyView(q)
	if err != nil {
		return err
	}
	c.render(q.w, q.r, 200, "policy", q, v)
	return nil
}

func (c *Console) policyView(q *request) (policyView, error) {
	v := policyView{
		Version: q.pol.Version(), LoadedAt: q.pol.LoadedAt(), File: filepath.Base(q.pol.Source().PolicyFile),
		Source: sourceLines(q.pol.Source().Policy), CanReload: q.Can(models.ResourcePolicy, models.ActionReload),
		Last: c.policies.Last(), Origin: c.policies.Origin(),
	}
	v.Layers, v.Others = matrices(q.pol)
	if c.versions != nil {
		var err error
		if v.Versions, err = c.versions.ListPolicyVersions(q.r.Context(), versionsShown); err != nil {
			return v, err
		}
	}
	return v, nil
}

// policyReload reloads the policy, as POST /v1/policy/reload does, and
// shows the result.
func (c *Console) policyReload(q *request) error {
	d, err := q.allowed(models.Resource{Type: models.ResourcePolicy}, models.ActionReload)
	if err != nil {
		return err
	}
	res := c.policies.Reload(q.r.Context(), ReloadTrigger)
	e := audit.ReloadEvent(res)
	e.Rule = strings.Join(d.Rule, ", ")
	c.record(q.r, q.viewer, e)
	q.pol = c.policies.Current()
	v, err := c.policyView(q)
	if err != nil {
		return err
	}
	v.Last, v.Reloaded = res, true
	status := http.StatusOK
	if !res.OK {
		status = http.StatusUnprocessableEntity
	}
	c.render(q.w, q.r, status, "policy", q, v)
	return nil
}

type explainView struct {
	Roles, TenantRoles, Groups []string
	Form                       map[string]string
	Asked                      bool
	Verdict                    authz.Verdict
	Error                      string
}

// policyExplain answers "who may do what" for a made-up subject: a role,
// a group, a tenant role, a resource, an action and an owner, and shows
// the deciding line.
func (c *Console) policyExplain(q *request) error {
	if err := q.authorize(models.Resource{Type: models.ResourcePolicy}, models.ActionRead); err != nil {
		return err
	}
	v := explainView{Roles: q.pol.Roles(), TenantRoles: q.pol.TenantRoles(), Form: map[string]string{}}
	for _, g := range q.pol.Groups() {
		v.Groups = append(v.Groups, g.Name)
	}
	params := q.r.URL.Query()
	for _, k := range []string{"role", "group", "tenant_role", "resource", "action", "owner"} {
		v.Form[k] = strings.TrimSpace(params.Get(k))
	}
	if v.Form["role"] != "" && v.Form["resource"] != "" && v.Form["action"] != "" {
		v.Asked = true
		sub := models.Subject{ID: 1, Role: v.Form["role"]}
		if g := v.Form["group"]; g != "" {
			sub.Groups = []string{g}
		}
		if tr := v.Form["tenant_role"]; tr != "" {
			sub.Tenant = &models.TenantContext{TenantID: 1}
			if tr != "-" {
				sub.Tenant.Role = tr
			}
		}
		res := models.Resource{Type: v.Form["resource"]}
		switch v.Form["owner"] {
		case "self":
			res.OwnerID = 1
		case "other":
			res.OwnerID = 2
		}
		verdict, err := q.pol.Explain(sub, res, v.Form["action"])
		if err != nil {
			v.Error = "The policy could not decide this question."
		}
		v.Verdict = verdict
	}
	c.render(q.w, q.r, 200, "explain", q, v)
	return nil
}

// PolicyVersions are the published policy versions of database mode.
type PolicyVersions interface {
	// ListPolicyVersions returns up to limit versions, newest first,
	// without their text.
	ListPolicyVersions(ctx context.Context, limit int) ([]models.PolicyVersion, error)
	// PolicyVersionByPrefix returns the newest row of a version, with its
	// text; ENOTFOUND if none.
	PolicyVersionByPrefix(ctx context.Context, prefix string) (models.PolicyVersion, error)
	PublishPolicyVersion(ctx context.Context, v models.PolicyVersion) (models.PolicyVersion, error)
}

// versionsShown is how many published versions the policy page lists.
const versionsShown = 20

// policyRollback publishes an older version's text again as the newest,
// as "rolegate policy rollback" does, after checking it as "rolegate
// policy publish" does, and reloads this replica at once; the others
// follow the publication. It needs reload, the one grant that already
// changes the policy in force.
func (c *Console) policyRollback(q *request) error {
	if c.versions == nil {
		return errNotFound
	}
	d, err := q.allowed(models.Resource{Type: models.ResourcePolicy}, models.ActionReload)
	if err != nil {
		return err
	}
	ctx := q.r.Context()
	version := q.r.PostFormValue("version")
	if len(version) != 64 {
		return models.Errorf(models.EINVALID, "Choose a version to roll back to.")
	}
	old, err := c.versions.PolicyVersionByPrefix(ctx, version)
	if err != nil {
		return err
	}
	src := authz.PublishedSource(old)
	if err := c.checkPublishable(src); err != nil {
		return &models.Error{Code: models.ECONFLICT, Message: "That version no longer passes the checks a publication needs, so it was not rolled back: " + err.Error()}
	}
	if _, err := c.versions.PublishPolicyVersion(ctx, models.PolicyVersion{
		Version: old.Version, Model: old.Model, Policy: old.Policy, Routes: old.Routes, Tests: old.Tests,
		PublishedBy: "console:" + q.viewer.Username, Comment: fmt.Sprintf("rollback to %s (#%d)", old.Version[:12], old.ID),
	}); err != nil {
		return err
	}
	res := c.policies.Reload(ctx, ReloadTrigger)
	e := audit.ReloadEvent(res)
	e.Rule = strings.Join(d.Rule, ", ")
	e.Detail["rollback_to"] = old.Version
	c.record(q.r, q.viewer, e)
	q.pol = c.policies.Current()
	v, err := c.policyView(q)
	if err != nil {
		return err
	}
	v.Last, v.Reloaded = res, true
	c.render(q.w, q.r, http.StatusOK, "policy", q, v)
	return nil
}

// checkPublishable runs the checks of "rolegate policy publish": the
// linter's errors, compiling, and the version's own tests.
func (c *Console) checkPublishable(src authz.Source) error {
	for _, f := range policylint.Check(src, policylint.CheckOptions{DefaultRole: c.defaultRole}) {
		if f.Severity == policylint.Error {
			return errors.New(f.String())
		}
	}
	p, err := authz.Compile(src)
	if err != nil {
		return err
	}
	return policytest.Tester(p, src)
}
