// Package policytest runs a policy's own test file (policy_test.csv)
// against it, so that a security team can change policy.csv and know,
// before the change takes effect, that it still gives the access they
// mean. Each failure names the rule that decided and its line.
package policytest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/csvlines"
	"github.com/rolegate/rolegate/models"
)

// Case is one line of a test file: a request and the decision the policy
// must give it.
type Case struct {
	Line int
	// Allow is the expected decision.
	Allow bool
	// Role is the caller's system role.
	Role     string
	Resource string
	Action   string
	// Owner is the owner column as written: none, self, other or an id.
	Owner     string
	SubjectID int64
	OwnerID   int64
	// Groups are the caller's groups (group=<name>).
	Groups []string
	// InTenant says the request is about one tenant (tenant=... or
	// break_glass=...); TenantRole is the caller's role in it, empty for
	// none (tenant=-), and BreakGlass the mode of their active
	// break-glass grant on it, empty for none.
	InTenant   bool
	TenantRole string
	BreakGlass string
	// explicitSubject records that the line named the caller's id, and
	// options the optional fields as written, so that String gives them
	// back.
	explicitSubject bool
	options         []string
}

// String renders the request of c the way the test file writes it.
func (c Case) String() string {
	s := strings.Join([]string{c.Role, c.Resource, c.Action, c.Owner}, ", ")
	if c.explicitSubject {
		s += ", " + strconv.FormatInt(c.SubjectID, 10)
	}
	for _, o := range c.options {
		s += ", " + o
	}
	return s
}

// Subject is the caller of c as Decide receives it. A case inside a
// tenant is about tenant 1.
func (c Case) Subject() models.Subject {
	sub := models.Subject{ID: c.SubjectID, Role: c.Role, Groups: c.Groups}
	if c.InTenant {
		sub.Tenant = &models.TenantContext{TenantID: 1, Role: c.TenantRole, BreakGlass: c.BreakGlass}
	}
	return sub
}

// DefaultSubjectID is the caller's id when a test or an explain names
// none: user 1, except that an anonymous caller has no id, as in rolegate.
func DefaultSubjectID(role string) int64 {
	if role == models.AnonymousRole {
		return 0
	}
	return 1
}

// caseColumns names the fields of a case, for error messages.
var caseColumns = []string{"expect", "role", "resource", "action", "owner", "subject_id"}

// Option keys: the optional fields after the owner (and subject_id) that
// put the caller in a tenant or in groups.
const (
	optionTenant     = "tenant"      // tenant=<role>, or tenant=- for no membership
	optionGroup      = "group"       // group=<name>, once per group
	optionBreakGlass = "break_glass" // break_glass=read or break_glass=write
	noTenantRole     = "-"
	optionSyntax     = "tenant=<role>, tenant=-, group=<name> or break_glass=read|write"
)

// Parse reads a test file, one case per line (see csvlines for the
// syntax). file names the file in errors, which are authz.LoadErrors
// listing every bad line, as for policy.csv.
func Parse(file string, data []byte) ([]Case, error) {
	var cases []Case
	var errs authz.LoadErrors
	for l, err := range csvlines.Read(data) {
		if err != nil {
			errs = append(errs, authz.LoadError{File: file, Line: l.N, Reason: err.Error()})
			continue
		}
		c, reason := parseCase(l.Fields)
		if reason != "" {
			errs = append(errs, authz.LoadError{File: file, Line: l.N, Reason: reason})
			continue
		}
		c.Line = l.N
		cases = append(cases, c)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cases, nil
}

// parseCase parses the fields of one line. It returns a reason when they
// are not a valid case.
func parseCase(fields []string) (Case, string) {
	if len(fields) < 5 {
		return Case{}, fmt.Sprintf("has %d fields, want at least 5 (expect, role, resource, action, owner[, subject_id][, %s])",
			len(fields), optionSyntax)
	}
	for i, f := range fields {
		if f == "" {
			name := "an option"
			if i < len(caseColumns) {
				name = caseColumns[i]
			}
			return Case{}, fmt.Sprintf("field %d (%s) is empty", i+1, name)
		}
	}
	c := Case{Role: fields[1], Resource: fields[2], Action: fields[3], Owner: fields[4]}
	switch fields[0] {
	case "allow":
		c.Allow = true
	case "deny":
	default:
		return Case{}, fmt.Sprintf("expect is %q, want allow or deny", fields[0])
	}
	c.SubjectID = DefaultSubjectID(c.Role)
	rest := fields[5:]
	if len(rest) > 0 && !strings.Contains(rest[0], "=") {
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || id < 0 {
			return Case{}, fmt.Sprintf("subject_id is %q, want a user id (0 for none)", rest[0])
		}
		c.SubjectID, c.explicitSubject = id, true
		rest = rest[1:]
	}
	for i, o := range rest {
		if reason := c.option(o); reason != "" {
			return Case{}, fmt.Sprintf("field %d: %s", len(fields)-len(rest)+i+1, reason)
		}
	}
	var ok bool
	if c.OwnerID, ok = ownerID(c.Owner, c.SubjectID); !ok {
		return Case{}, fmt.Sprintf("owner is %q, want none, self, other or a user id", c.Owner)
	}
	return c, ""
}

// option applies one optional field, key=value, to c, or returns why it
// is not one.
func (c *Case) option(field string) string {
	key, value, _ := strings.Cut(field, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	option := key + "=" + value
	switch {
	case value == "":
		return fmt.Sprintf("%q: want %s", field, optionSyntax)
	case strings.Contains(value, ":"):
		return fmt.Sprintf("%q: a name holds no \":\" (write tenant=admin, not tenant=tenant:admin)", field)
	case slices.Contains(c.options, option) || (key != optionGroup && slices.ContainsFunc(c.options, func(o string) bool { return strings.HasPrefix(o, key+"=") })):
		return fmt.Sprintf("%q: the line already names its %s", field, key)
	}
	switch key {
	case optionTenant:
		c.InTenant = true
		if value != noTenantRole {
			c.TenantRole = value
		}
	case optionGroup:
		c.Groups = append(c.Groups, value)
	case optionBreakGlass:
		if value != models.BreakGlassRead && value != models.BreakGlassWrite {
			return fmt.Sprintf("%q: want break_glass=read or break_glass=write", field)
		}
		c.InTenant, c.BreakGlass = true, value
	default:
		return fmt.Sprintf("%q: want %s", field, optionSyntax)
	}
	c.options = append(c.options, option)
	return ""
}

// ownerID resolves the owner column against the caller's id: self is the
// caller's own object (nobody's for a caller without an id), other is the
// next user's.
func ownerID(owner string, subjectID int64) (int64, bool) {
	switch owner {
	case "none":
		return 0, true
	case "self":
		return subjectID, true
	case "other":
		return subjectID + 1, true
	}
	id, err := strconv.ParseInt(owner, 10, 64)
	return id, err == nil && id >= 0
}
