// Package policytest runs a policy's own test file (policy_test.csv)
// against it, so that a security team can change policy.csv and know,
// before the change takes effect, that it still gives the access they
// mean. Each failure names the rule that decided and its line.
package policytest

import (
	"fmt"
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
	Allow    bool
	Role     string
	Resource string
	Action   string
	// Owner is the owner column as written: none, self, other or an id.
	Owner     string
	SubjectID int64
	OwnerID   int64
	// explicitSubject records that the line named the caller's id, so
	// that String gives it back.
	explicitSubject bool
}

// String renders the request of c the way the test file writes it.
func (c Case) String() string {
	s := strings.Join([]string{c.Role, c.Resource, c.Action, c.Owner}, ", ")
	if c.explicitSubject {
		s += ", " + strconv.FormatInt(c.SubjectID, 10)
	}
	return s
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
	if len(fields) != 5 && len(fields) != 6 {
		return Case{}, fmt.Sprintf("has %d fields, want 5 or 6 (%s)", len(fields), strings.Join(caseColumns, ", "))
	}
	for i, f := range fields {
		if f == "" {
			return Case{}, fmt.Sprintf("field %d (%s) is empty", i+1, caseColumns[i])
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
	if len(fields) == 6 {
		id, err := strconv.ParseInt(fields[5], 10, 64)
		if err != nil || id < 0 {
			return Case{}, fmt.Sprintf("subject_id is %q, want a user id (0 for none)", fields[5])
		}
		c.SubjectID, c.explicitSubject = id, true
	}
	var ok bool
	if c.OwnerID, ok = ownerID(c.Owner, c.SubjectID); !ok {
		return Case{}, fmt.Sprintf("owner is %q, want none, self, other or a user id", c.Owner)
	}
	return c, ""
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
