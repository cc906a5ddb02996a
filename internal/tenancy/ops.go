package tenancy

import (
	"context"
	"time"

	"github.com/rolegate/rolegate/models"
)

// MemberWriter writes memberships and invitations: the store.
type MemberWriter interface {
	// PutMember calls check on the membership as locked by the write and
	// returns its error as it is; ENOTFOUND for a missing user, ECONFLICT
	// for the tenant's last active owner.
	PutMember(ctx context.Context, tenantID, userID int64, patch models.MemberPatch, guard models.TenantGuard, check models.MemberCheck) (models.MemberChange, error)
	// RemoveMember is PutMember's counterpart for removals; ENOTFOUND when
	// the user is no member.
	RemoveMember(ctx context.Context, tenantID, userID int64, guard models.TenantGuard, check models.MemberCheck) (*models.Membership, error)
	// CreateInvitation returns the invitation with its token, the only
	// time the token is seen.
	CreateInvitation(ctx context.Context, inv *models.Invitation) (*models.Invitation, error)
	// RevokeInvitation returns ENOTFOUND unless the invitation is pending
	// in the tenant, or check's error as it is.
	RevokeInvitation(ctx context.Context, tenantID, id, by int64, check func(*models.Invitation) error) (*models.Invitation, error)
}

// PutMember adds user userID to the scope's tenant with role, or changes
// their role and, unless isActive is nil, active flag. The grant cap, the
// own-membership refusal and the last-owner guard are decided on the
// membership as the write locks it (GrantCheck.PutCheck). It returns the
// change and the decision that allowed it, for its audit event. role must
// be one of the policy's tenant roles.
func (a Asker) PutMember(ctx context.Context, st MemberWriter, sc *Scope, userID int64, role string, isActive *bool) (models.MemberChange, models.Decision, error) {
	patch := models.MemberPatch{Role: &role, IsActive: isActive, InvitedBy: sc.Sub.ID}
	g := a.Grants(sc)
	change, err := st.PutMember(ctx, sc.Tenant.ID, userID, patch, sc.Pol.TenantGuard(), g.PutCheck(userID, role, isActive))
	return change, g.Last, err
}

// RemoveMember removes user userID from the scope's tenant, decided as
// GrantCheck.RemoveCheck says, and returns the membership as it was and
// the decision that allowed it (zero when the member left).
func (a Asker) RemoveMember(ctx context.Context, st MemberWriter, sc *Scope, userID int64) (*models.Membership, models.Decision, error) {
	g := a.Grants(sc)
	before, err := st.RemoveMember(ctx, sc.Tenant.ID, userID, sc.Pol.TenantGuard(), g.RemoveCheck(userID))
	return before, g.Last, err
}

// CreateInvitation invites email (trimmed and valid: ValidInvitationEmail)
// to the scope's tenant with role, which the caller must be allowed to
// grant, for ttl. The invitation returned carries its token, once.
func (a Asker) CreateInvitation(ctx context.Context, st MemberWriter, sc *Scope, email, role string, ttl time.Duration) (*models.Invitation, models.Decision, error) {
	g := a.Grants(sc)
	if err := g.Allow(role); err != nil {
		return nil, g.Last, err
	}
	inv, err := st.CreateInvitation(ctx, &models.Invitation{
		TenantID: sc.Tenant.ID, Email: email, Role: role, ExpiresAt: time.Now().Add(ttl), CreatedBy: sc.Sub.ID,
	})
	return inv, g.Last, err
}

// RevokeInvitation revokes pending invitation id of the scope's tenant,
// for a caller allowed to grant its role, decided on the invitation as
// the write locks it. It returns the invitation as it was.
func (a Asker) RevokeInvitation(ctx context.Context, st MemberWriter, sc *Scope, id int64) (*models.Invitation, models.Decision, error) {
	g := a.Grants(sc)
	before, err := st.RevokeInvitation(ctx, sc.Tenant.ID, id, sc.Sub.ID, func(inv *models.Invitation) error {
		return g.Allow(inv.Role)
	})
	return before, g.Last, err
}

// AuthorizeActiveChange decides a tenant update that sets the active flag
// to isActive (nil: unchanged): changing it is deleting-level ("tenant,
// delete"), since an inactive tenant refuses its own members and only the
// system layer can make it active again.
func (a Asker) AuthorizeActiveChange(sc *Scope, isActive *bool) error {
	if isActive == nil || *isActive == sc.Tenant.IsActive {
		return nil
	}
	_, err := a.Authorize(sc, models.Resource{Type: models.ResourceTenant}, models.ActionDelete)
	return err
}
