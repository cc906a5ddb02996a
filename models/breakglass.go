package models

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of a break-glass grant.
const (
	MaxBreakGlassReason  = 500 // characters
	MaxBreakGlassMinutes = 240
)

// BreakGlassGrant is time-boxed access to one tenant for someone who is
// not (or not enough of) a member: support staff looking inside a
// customer's tenant. While it is active its holder is asked about as
// "break_glass:<mode>" inside that tenant (TenantContext.BreakGlass).
type BreakGlassGrant struct {
	ID       int64
	TenantID int64
	UserID   int64
	// Mode is BreakGlassRead or BreakGlassWrite.
	Mode      string
	Reason    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// EndedAt and EndedBy are set when the grant was ended early.
	EndedAt *time.Time
	EndedBy int64
}

// BreakGlassRequest is what a caller asks for: why, for how long, and
// read or write access.
type BreakGlassRequest struct {
	Reason  string
	Minutes int
	Mode    string
}

// Validate returns EINVALID naming every bad field of r, or nil: a reason
// of 1 to MaxBreakGlassReason characters that is not blank and holds no
// control characters but newlines, 1 to MaxBreakGlassMinutes minutes, and
// a mode of read or write.
func (r BreakGlassRequest) Validate() error {
	fields := map[string][]string{}
	n := utf8.RuneCountInString(r.Reason)
	switch {
	case !utf8.ValidString(r.Reason) || strings.ContainsFunc(r.Reason, func(c rune) bool { return c != '\n' && unicode.IsControl(c) }):
		fields["reason"] = []string{"The reason must be text without control characters."}
	case strings.TrimSpace(r.Reason) == "":
		fields["reason"] = []string{"This field may not be blank."}
	case n > MaxBreakGlassReason:
		fields["reason"] = []string{fmt.Sprintf("Ensure this field has no more than %d characters.", MaxBreakGlassReason)}
	}
	if r.Minutes < 1 || r.Minutes > MaxBreakGlassMinutes {
		fields["minutes"] = []string{fmt.Sprintf("Ensure this value is between 1 and %d.", MaxBreakGlassMinutes)}
	}
	if r.Mode != BreakGlassRead && r.Mode != BreakGlassWrite {
		fields["mode"] = []string{fmt.Sprintf("%q is not a valid choice; choose %q or %q.", r.Mode, BreakGlassRead, BreakGlassWrite)}
	}
	if len(fields) > 0 {
		return &Error{Code: EINVALID, Message: "invalid input", Fields: fields}
	}
	return nil
}

// BreakGlassAction is the action on ResourceTenants that taking a grant
// of mode needs: ActionBreakGlassRead or ActionBreakGlassWrite.
func BreakGlassAction(mode string) string {
	if mode == BreakGlassWrite {
		return ActionBreakGlassWrite
	}
	return ActionBreakGlassRead
}
