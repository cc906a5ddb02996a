package models

import "time"

// The staff console's questions to the policy: entering the console at
// all, and exporting a list as CSV, which reads many rows at once and so
// is granted apart from reading one.
const (
	ResourceConsole = "console"
	ActionAccess    = "access"
	ActionExport    = "export"
)

// ConsoleSession is one sign-in to the staff console. Only the SHA-256 of
// the session id (the cookie's value) is stored.
type ConsoleSession struct {
	IDHash     string
	UserID     int64
	CSRFSecret string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end; the idle end is LastSeenAt plus the
	// idle timeout, which the console decides.
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Sort orders of the console's user list, in Django's spelling: a field
// name, with "-" before it for descending.
var UserOrders = []string{"id", "-id", "username", "-username", "date_joined", "-date_joined", "last_login", "-last_login"}

// UserQuery selects a page of users for the console: UserFilter's
// filters, an order from UserOrders, and a keyset cursor, the sort key of
// the last user of the previous page.
type UserQuery struct {
	Role     *string
	IsActive *bool
	Search   string
	// Group keeps the members of this group; "" keeps everyone.
	Group string
	// TenantID keeps the members of this tenant, active or not; 0 keeps
	// everyone.
	TenantID int64
	Order    string
	After    *UserCursor
	Limit    int
}

// UserCursor is the position a page of users starts after: the sort value
// of the last user seen and their id, which breaks ties.
type UserCursor struct {
	ID       int64
	Username string
	Time     *time.Time
}

// UserSessions are a user's sessions that have not ended: API logins
// (refresh-token sessions) and console sign-ins.
type UserSessions struct {
	API     []Session
	Console []ConsoleSession
}

// TenantCounts are the dashboard's figures about tenants: all and active
// tenants, and all and active memberships.
type TenantCounts struct {
	Tenants, ActiveTenants         int64
	Memberships, ActiveMemberships int64
}

// GroupCount is a group that has members in the database, and how many.
type GroupCount struct {
	Group   string
	Members int64
}

// UserCounts are the dashboard's figures about users.
type UserCounts struct {
	ByRole map[string]int64
	Total  int64
	Active int64
}
