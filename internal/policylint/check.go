// Package policylint lints a policy's files, for "rolegate policy check"
// and before "rolegate policy publish": beyond what stops them compiling,
// it finds duplicate rules, grants that can never match, inheritance and
// resource group cycles and links that give nothing, roles, tenant roles
// and groups the tests or the configuration name but the policy does not
// define, grants for questions rolegate never asks, tenant-layer grants
// on questions asked only outside tenants, tenant roles inheriting
// system rights, and grant lines for tenant roles nobody can hold.
package policylint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policytest"
)

// Severity says whether a finding must be fixed or only looked at.
type Severity string

// Severities of findings. An error is a policy that is broken or does not
// do what it says; a warning may be intended.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem Check found, with where it is.
type Finding struct {
	Severity Severity
	File     string
	Line     int // 0 when the problem belongs to no one line
	Message  string
}

// String renders f as "policy.csv:31: error: message".
func (f Finding) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Severity, f.Message)
	}
	return fmt.Sprintf("%s: %s: %s", f.File, f.Severity, f.Message)
}

// CheckOptions is what Check needs to know beyond the files.
type CheckOptions struct {
	// DefaultRole is the role given at signup (ROLEGATE_DEFAULT_ROLE),
	// which the policy must define. Empty skips that check.
	DefaultRole string
}

// Check lints a model, a policy and its tests. Syntax errors come first:
// while the policy does not compile, they are all it reports. Then it
// looks for duplicate rules, rules that can never match, cycles,
// inheritance that gives nothing, names the policy does not define, and
// (as warnings) grants for questions rolegate never asks, tenant-layer
// grants outside tenants, tenant roles inheriting system rights, and
// grants on tenant roles nobody holds. Findings are in file and line
// order.
func Check(src authz.Source, opts CheckOptions) []Finding {
	c := &checker{policyFile: filepath.Base(src.PolicyFile), testsFile: policytest.FileName(src)}
	var cases []policytest.Case
	if len(bytes.TrimSpace(src.Tests)) > 0 {
		var err error
		if cases, err = policytest.Parse(c.testsFile, src.Tests); err != nil {
			c.addLoadErrors(err)
		}
	}
	p, err := authz.Compile(src)
	if err != nil {
		c.addLoadErrors(err)
		return c.sorted()
	}
	c.p, c.rules, c.cols = p, rulesOf(p), grantColumns(src.Model)
	c.duplicates()
	c.neverMatching(src)
	c.cycles()
	c.emptyInheritance()
	c.unknownRoles(cases, opts.DefaultRole)
	c.unasked()
	c.tenantLayerOutsideTenants()
	c.crossLayerInheritance()
	c.unheldTenantRoles()
	return c.sorted()
}

// checker collects the findings of one Check.
type checker struct {
	p                     *authz.Policy
	policyFile, testsFile string
	rules                 []ruleAt
	cols                  columns
	findings              []Finding
}

func (c *checker) add(sev Severity, file string, line int, format string, args ...any) {
	c.findings = append(c.findings, Finding{Severity: sev, File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// addLoadErrors turns authz's load errors, which already carry file and
// line, into findings.
func (c *checker) addLoadErrors(err error) {
	var errs authz.LoadErrors
	if !errors.As(err, &errs) {
		c.add(Error, c.policyFile, 0, "%v", err)
		return
	}
	for _, e := range errs {
		c.add(Error, e.File, e.Line, "%s", e.Reason)
	}
}

func (c *checker) sorted() []Finding {
	slices.SortStableFunc(c.findings, func(a, b Finding) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return c.findings
}

// ruleAt is one rule, type first, with its line in the policy file.
type ruleAt struct {
	fields []string
	line   int
}

func (r ruleAt) String() string { return strings.Join(r.fields, ", ") }

// isGrant reports whether r is a "p" rule; inheritance is "g".
func (r ruleAt) isGrant() bool { return r.fields[0] == "p" }

// isLink reports whether r is a two-name rule of type kind: "g" for
// inheritance between subjects, "g2" for resource groups.
func (r ruleAt) isLink(kind string) bool { return r.fields[0] == kind && len(r.fields) == 3 }

func rulesOf(p *authz.Policy) []ruleAt {
	lines := p.RuleLines()
	out := make([]ruleAt, len(lines))
	for i, fields := range p.Rules() {
		out[i] = ruleAt{fields: fields, line: lines[i]}
	}
	return out
}

// columns is where a grant's role, resource, action and scope are among
// its fields (type first), or -1; ok when the first three are known.
type columns struct {
	sub, obj, act, scope int
	ok                   bool
}

var grantDefinition = regexp.MustCompile(`^p\s*=(.*)$`)

// grantColumns reads the model's "p = sub, obj, act, scope" line: the
// lints that reason about roles and resources need to know which field is
// which, and a model may order or name them differently.
func grantColumns(model []byte) columns {
	cols := columns{sub: -1, obj: -1, act: -1, scope: -1}
	sc := bufio.NewScanner(bytes.NewReader(model))
	for sc.Scan() {
		m := grantDefinition.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		for i, name := range strings.Split(m[1], ",") {
			switch strings.TrimSpace(name) {
			case "sub":
				cols.sub = i + 1
			case "obj":
				cols.obj = i + 1
			case "act":
				cols.act = i + 1
			case "scope":
				cols.scope = i + 1
			}
		}
		break
	}
	cols.ok = cols.sub > 0 && cols.obj > 0 && cols.act > 0
	return cols
}

// field returns the field of r at i, or "" when the model has no such
// column.
func field(r ruleAt, i int) string {
	if i < 0 || i >= len(r.fields) {
		return ""
	}
	return r.fields[i]
}
