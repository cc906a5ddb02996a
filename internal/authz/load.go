package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2/model"

	"github.com/rolegate/rolegate/internal/csvlines"
)

// LoadError is one problem found in a policy file, with where it is.
type LoadError struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
}

func (e LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// LoadErrors is every problem found in one load, in file order.
type LoadErrors []LoadError

func (es LoadErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// rule is one policy line, kept with its place in the file.
type rule struct {
	line  int
	ptype string // "p", "g", ...
	sec   string // "p" or "g"
	vals  []string
	sub   int // for a grant, the position of its subject in vals
}

// parseRules reads a Casbin policy file, one rule per line (see csvlines
// for the syntax). Unlike Casbin's own file adapter it checks every line
// against the model and reports all problems with their line numbers
// instead of stopping at (or silently keeping) the first bad one.
func parseRules(file string, data []byte, m model.Model) ([]rule, LoadErrors) {
	var rules []rule
	var errs LoadErrors
	for l, err := range csvlines.Read(data) {
		if err != nil {
			errs = append(errs, LoadError{File: file, Line: l.N, Reason: err.Error()})
			continue
		}
		r, reason := parseRule(l.Fields, m)
		if reason != "" {
			errs = append(errs, LoadError{File: file, Line: l.N, Reason: reason})
			continue
		}
		r.line = l.N
		rules = append(rules, r)
	}
	return rules, errs
}

// parseRule parses the fields of one line. It returns a reason when they
// are not a valid rule for the model.
func parseRule(fields []string, m model.Model) (rule, string) {
	ptype := fields[0]
	sec := sectionOf(ptype)
	ast, ok := m[sec][ptype]
	if sec == "" || !ok {
		return rule{}, fmt.Sprintf("unknown rule type %q: the model defines %s", ptype, strings.Join(ruleTypes(m), ", "))
	}
	vals := fields[1:]
	if len(vals) != len(ast.Tokens) {
		return rule{}, fmt.Sprintf("%s rule has %d fields, the model's %s definition wants %d (%s)",
			ptype, len(vals), ptype, len(ast.Tokens), strings.Join(tokenNames(ptype, ast.Tokens), ", "))
	}
	for i, v := range vals {
		if v == "" {
			return rule{}, fmt.Sprintf("field %d (%s) is empty", i+1, tokenNames(ptype, ast.Tokens)[i])
		}
	}
	if sec == "p" {
		if i := slices.Index(ast.Tokens, ptype+"_scope"); i >= 0 && vals[i] != ScopeAny && vals[i] != ScopeOwn {
			return rule{}, fmt.Sprintf("scope is %q, want %q or %q", vals[i], ScopeAny, ScopeOwn)
		}
	}
	r := rule{ptype: ptype, sec: sec, vals: vals, sub: subjectColumn(ptype, ast.Tokens)}
	for _, s := range r.subjects() {
		if _, _, reason := parseSubject(s); reason != "" {
			return rule{}, reason
		}
	}
	return r, ""
}

// Scopes a grant may have in the default model.
const (
	ScopeAny = "any"
	ScopeOwn = "own"
)

func sectionOf(ptype string) string {
	switch {
	case strings.HasPrefix(ptype, "p"):
		return "p"
	case strings.HasPrefix(ptype, "g"):
		return "g"
	}
	return ""
}

func ruleTypes(m model.Model) []string {
	var out []string
	for _, sec := range []string{"p", "g"} {
		for ptype := range m[sec] {
			out = append(out, ptype)
		}
	}
	return out
}

// tokenNames turns Casbin's internal token names ("p_sub") back into the
// names the model file uses ("sub"). Role definitions keep their "_".
func tokenNames(ptype string, tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = strings.TrimPrefix(t, ptype+"_")
	}
	return out
}

// lineOf returns the 1-based line of the first line in data that assigns
// key ("key = ..." or "key=..."), or 0.
func lineOf(data []byte, key string) int {
	for i, l := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), key)
		if ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return 0
}

// roleDefinitionErrors returns a LoadError for each role definition in m
// that Casbin would refuse when building the role manager: one with fewer
// than two "_" fields (g = _, _ is the least).
func roleDefinitionErrors(file string, data []byte, m model.Model) LoadErrors {
	var errs LoadErrors
	for key, ast := range m["g"] {
		if strings.Count(ast.Value, "_") < 2 {
			errs = append(errs, LoadError{File: file, Line: lineOf(data, key),
				Reason: fmt.Sprintf("role definition %s needs at least two fields (%s = _, _)", key, key)})
		}
	}
	slices.SortFunc(errs, func(a, b LoadError) int { return a.Line - b.Line })
	return errs
}
