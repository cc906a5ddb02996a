package models

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxGroupName is the longest group name stored (user_groups.group_name).
const MaxGroupName = 64

// GroupMember is a user in a group, as a group's member list shows them.
// User carries the public profile only: no password hash, no account key.
type GroupMember struct {
	User     *User
	Group    string
	JoinedAt time.Time
	// AddedBy is the user who added them; 0 when unknown.
	AddedBy int64
}

// GroupMemberFilter selects a page of a group's members, in ascending
// user id order, starting after AfterID.
type GroupMemberFilter struct {
	Group   string
	AfterID int64
	Limit   int
}

// ValidateGroupName returns EINVALID unless name can be a group: the
// name the policy writes after "group:", at most MaxGroupName characters,
// without ":" or control characters. Whether the policy defines the group
// is the caller's question.
func ValidateGroupName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxGroupName || !utf8.ValidString(name) {
		return FieldError("name", fmt.Sprintf("A group name is 1 to %d characters.", MaxGroupName))
	}
	for _, r := range name {
		if r == ':' || r == '/' || r < 0x20 || r == 0x7f {
			return FieldError("name", "A group name holds no \":\", no \"/\" and no control characters.")
		}
	}
	return nil
}

// GroupMemberTarget names one user's membership of a group as an audit
// target, for the API and the console alike.
func GroupMemberTarget(name string, userID int64) string {
	return ResourceGroups + "/" + name + "/members/" + strconv.FormatInt(userID, 10)
}

// GroupMemberChange is the audit detail of a membership change: the group,
// the user, and whether they were a member before and after.
func GroupMemberChange(name string, userID int64, before, after bool) map[string]any {
	return map[string]any{"group": name, "user_id": userID, "member": map[string]any{"from": before, "to": after}}
}
