// Package models holds rolegate's domain types. It imports only the
// standard library, so nothing here knows about HTTP, SQL or Casbin.
package models

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to exactly one HTTP status in the HTTP layer; the
// codes themselves are transport-neutral.
const (
	EINVALID      = "invalid"      // the input is wrong; Fields says where
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, but the policy denies
	ENOTFOUND     = "not_found"    // the thing does not exist
	ECONFLICT     = "conflict"     // the request breaks an invariant of current state
	ETOOLARGE     = "too_large"    // the input is bigger than allowed
	EUNSUPPORTED  = "unsupported"  // the input is of a media type we do not read
	ETHROTTLED    = "throttled"    // too many attempts; try again later
	EUNAVAILABLE  = "unavailable"  // a dependency is down; safe to retry
	EINTERNAL     = "internal"     // a bug or unexpected failure; never shown to clients
)

// Error is an error a client may see. Message is safe to show; an internal
// cause is wrapped in Err and never shown.
type Error struct {
	Code    string
	Message string
	// Reason is a machine-readable refinement of Code, such as
	// "token_not_valid" for EUNAUTHORIZED.
	Reason string
	// Fields holds per-field messages for EINVALID, keyed by the JSON name.
	Fields map[string][]string
	// Details are further facts a client may see beside Message and
	// Reason, each under its own name: what a denial refused and under
	// which policy version, or the errors of a policy that did not load.
	Details map[string]any
	// Err is the underlying cause, kept for logs only.
	Err error
	// RetryAfter, for ETHROTTLED, is how long until a retry may succeed.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Reason != "" {
		msg = e.Reason + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error about one field.
func FieldError(field, message string) *Error {
	return &Error{Code: EINVALID, Message: "invalid input", Fields: map[string][]string{field: {message}}}
}

// Internal wraps an unexpected failure. Its message is generic on purpose.
func Internal(err error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
}

// Unavailable wraps a failure of a dependency such as the database.
func Unavailable(err error) *Error {
	return &Error{Code: EUNAVAILABLE, Message: "service temporarily unavailable", Err: err}
}

// FieldsOf gathers the per-field messages of the EINVALID errors among
// errs, such as the results of several validations of one input, for a
// caller that shows them its own way. Nil and other errors add nothing.
func FieldsOf(errs ...error) map[string][]string {
	fields := map[string][]string{}
	for _, err := range errs {
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID {
			continue
		}
		for name, msgs := range e.Fields {
			fields[name] = append(fields[name], msgs...)
		}
	}
	return fields
}

// ErrorCode returns the code of err, EINTERNAL when err is not an *Error,
// and "" when err is nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns err as an *Error, wrapping unknown errors as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Throttled returns an ETHROTTLED error that tells the client to wait
// retryAfter. Its message is the same whatever was throttled, so that it
// tells nothing about which accounts exist.
func Throttled(retryAfter time.Duration) *Error {
	return &Error{Code: ETHROTTLED, Message: "Too many attempts; try again later.", RetryAfter: retryAfter}
}
