package models

import "time"

// Kinds of throttle counters.
const (
	ThrottleLoginAccount = "login_account" // failed password checks (logins, password changes) for one username
	ThrottleLoginIP      = "login_ip"      // failed password checks from one client address
	ThrottleLoginSession = "login_session" // successful logins (new sessions) of one username
	ThrottleSignupIP     = "signup_ip"     // signups and username changes from one client address
	ThrottleRenameUser   = "rename_user"   // username changes made by one user
)

// ThrottleKey names one counter: its kind and what it counts, such as a
// client address.
type ThrottleKey struct {
	Kind string
	Name string
}

// ThrottleLimit is how many events a counter takes in Window before each
// further one blocks it: for BaseDelay after the Max-th, then for twice as
// long after each one more, up to Window. A counter starts over once its
// window and its block are both over, so no block is permanent.
type ThrottleLimit struct {
	Max       int
	Window    time.Duration
	BaseDelay time.Duration
}

// ThrottleState is a counter after an event.
type ThrottleState struct {
	Count        int64
	BlockedUntil time.Time // zero when not blocked
}
