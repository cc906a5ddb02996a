package tenancy

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/models"
)

// Target names a tenant as an audit target.
func Target(t *models.Tenant) string { return "tenants/" + t.Slug }

// MemberTarget names a membership as an audit target.
func MemberTarget(t *models.Tenant, userID int64) string {
	return Target(t) + "/members/" + strconv.FormatInt(userID, 10)
}

// InvitationTarget names an invitation as an audit target.
func InvitationTarget(t *models.Tenant, id int64) string {
	return Target(t) + "/invitations/" + strconv.FormatInt(id, 10)
}

// TenantDetail is a tenant as its audit events show it.
func TenantDetail(t *models.Tenant) map[string]any {
	return map[string]any{"slug": t.Slug, "name": t.Name, "is_active": t.IsActive, "settings": t.Settings}
}

// TenantUpdateAudit is the detail of a tenant's update, the tenant
// before and after; false when nothing changed, which is not recorded.
func TenantUpdateAudit(change models.TenantChange) (map[string]any, bool) {
	before, after := TenantDetail(change.Before), TenantDetail(change.After)
	b, errB := json.Marshal(before)
	a, errA := json.Marshal(after)
	if errA == nil && errB == nil && bytes.Equal(a, b) {
		return nil, false
	}
	return map[string]any{"before": before, "after": after}, true
}

// MemberDetail is a membership as audit events show it.
func MemberDetail(m *models.Membership) map[string]any {
	if m == nil {
		return nil
	}
	return map[string]any{"role": m.Role, "is_active": m.IsActive}
}

// InvitationDetail is an invitation as audit events show it: never its
// token.
func InvitationDetail(inv *models.Invitation) map[string]any {
	return map[string]any{"email": inv.Email, "role": inv.Role, "expires_at": inv.ExpiresAt}
}

// MemberChangeAudit is the audit action and detail of a membership added
// or changed; the action is "" when nothing changed, which is not
// recorded.
func MemberChangeAudit(change models.MemberChange) (string, map[string]any) {
	action := models.AuditMemberUpdate
	if change.Before == nil {
		action = models.AuditMemberAdd
	} else if change.Before.Role == change.After.Role && change.Before.IsActive == change.After.IsActive {
		return "", nil
	}
	return action, map[string]any{"user_id": change.After.UserID, "before": MemberDetail(change.Before), "after": MemberDetail(change.After)}
}

// MemberRemovalAudit is the detail of a member's removal; left is true
// when the member removed themself.
func MemberRemovalAudit(userID int64, before *models.Membership, left bool) map[string]any {
	return map[string]any{"user_id": userID, "before": MemberDetail(before), "after": nil, "left": left}
}

// ValidInvitationEmail reports whether email, trimmed, may be invited: an
// address of one "@" between two non-empty parts, without space or
// control characters, of at most 254 bytes.
func ValidInvitationEmail(email string) bool {
	return len(email) <= 254 && strings.Count(email, "@") == 1 && !strings.HasPrefix(email, "@") &&
		!strings.HasSuffix(email, "@") && !strings.ContainsFunc(email, isSpaceOrControl)
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
