package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// invitationRow is the tenant_invitations table.
type invitationRow struct {
	ID         int64 `gorm:"primaryKey"`
	TenantID   int64
	Email      string
	Role       string
	TokenHash  string
	ExpiresAt  time.Time
	CreatedBy  *int64
	CreatedAt  time.Time
	AcceptedAt *time.Time
	AcceptedBy *int64
	RevokedAt  *time.Time
	RevokedBy  *int64
}

func (invitationRow) TableName() string { return "tenant_invitations" }

func (r *invitationRow) model() *models.Invitation {
	return &models.Invitation{
		ID: r.ID, TenantID: r.TenantID, Email: r.Email, Role: r.Role, ExpiresAt: r.ExpiresAt.UTC(),
		CreatedBy: deref(r.CreatedBy), CreatedAt: r.CreatedAt.UTC(), AcceptedAt: utc(r.AcceptedAt),
		AcceptedBy: deref(r.AcceptedBy), RevokedAt: utc(r.RevokedAt), RevokedBy: deref(r.RevokedBy),
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func nonZero(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// invitationTokenHash is the stored form of an invitation token: the hex
// sha256 of it. The token holds 130 random bits, so no salt or slow hash
// is needed to keep a database reader from finding it.
func invitationTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// errNoInvitation is every refused acceptance: a wrong, spent, expired or
// revoked token, or one for another email, all look the same.
var errNoInvitation = models.Errorf(models.ENOTFOUND, "No such invitation, or it is no longer valid.")

// CreateInvitation stores inv (TenantID, Email, Role, ExpiresAt and
// CreatedBy) with a new random token, of which only a hash is kept, and
// returns it with its id and, this once, its token. Returns ENOTFOUND if
// the tenant does not exist.
func (s *Store) CreateInvitation(ctx context.Context, inv *models.Invitation) (*models.Invitation, error) {
	token := rand.Text()
	row := invitationRow{
		TenantID: inv.TenantID, Email: inv.Email, Role: inv.Role, TokenHash: invitationTokenHash(token),
		ExpiresAt: timestamp(inv.ExpiresAt), CreatedBy: nonZero(inv.CreatedBy), CreatedAt: timestamp(time.Now()),
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	if err := db.Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return nil, models.Errorf(models.ENOTFOUND, "Not found.")
		}
		return nil, dbError(err)
	}
	out := row.model()
	out.Token = token
	return out, nil
}

// ListInvitations returns up to f.Limit of tenant tenantID's pending
// invitations (neither accepted nor revoked, and not expired), in
// ascending id order, starting after f.AfterID.
func (s *Store) ListInvitations(ctx context.Context, tenantID int64, f models.InvitationFilter) ([]*models.Invitation, error) {
	if f.Limit < 1 {
		return nil, models.FieldError("limit", "A valid integer of at least 1 is required.")
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var rows []invitationRow
	err := db.Where("tenant_id = ? AND id > ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
		tenantID, f.AfterID, timestamp(time.Now())).Order("id").Limit(f.Limit).Find(&rows).Error
	if err != nil {
		return nil, dbError(err)
	}
	out := make([]*models.Invitation, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// RevokeInvitation revokes tenant tenantID's pending invitation id on
// behalf of user by, and returns it as it was. check, unless nil, decides
// on the invitation as locked by the write. Returns ENOTFOUND unless the
// invitation exists in the tenant and is pending, or check's error.
func (s *Store) RevokeInvitation(ctx context.Context, tenantID, id, by int64, check func(*models.Invitation) error) (*models.Invitation, error) {
	var before *models.Invitation
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row invitationRow
		if err := tx.Clauses(forUpdate).Where("id = ? AND tenant_id = ?", id, tenantID).Take(&row).Error; err != nil {
			return err
		}
		now := time.Now()
		if before = row.model(); !before.Pending(now) {
			return models.Errorf(models.ENOTFOUND, "Not found.")
		}
		if check != nil {
			if err := check(before); err != nil {
				return err
			}
		}
		return tx.Model(&invitationRow{}).Where("id = ?", id).
			Updates(map[string]any{"revoked_at": timestamp(now), "revoked_by": nonZero(by)}).Error
	})
	if err != nil {
		return nil, dbError(err)
	}
	return before, nil
}

// AcceptInvitation spends the invitation whose token is token on behalf
// of user u, whose email must be the invitation's (in any case), and makes
// u a member of its tenant with its role: a new member, or a former
// inactive one made active again. It returns the invitation as it was and
// the membership change. A wrong, spent, expired or revoked token, or one
// for another email, returns the same ENOTFOUND; ECONFLICT means u already
// is an active member (the invitation stays pending).
func (s *Store) AcceptInvitation(ctx context.Context, token string, u *models.User) (*models.Invitation, models.MemberChange, error) {
	var inv *models.Invitation
	var change models.MemberChange
	defer s.users.invalidate(u.ID)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var rows []invitationRow
		if err := tx.Clauses(forUpdate).Where("token_hash = ?", invitationTokenHash(token)).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		now := time.Now()
		if len(rows) == 0 || !rows[0].model().Pending(now) || !strings.EqualFold(rows[0].Email, u.Email) {
			return errNoInvitation
		}
		inv = rows[0].model()
		before, err := lockMember(tx, inv.TenantID, u.ID)
		if err != nil {
			return err
		}
		if before != nil && before.IsActive {
			return models.Errorf(models.ECONFLICT, "You already are a member of this tenant.")
		}
		active := true
		after, err := applyMemberPatch(before, inv.TenantID, u.ID, models.MemberPatch{Role: &inv.Role, IsActive: &active, InvitedBy: inv.CreatedBy})
		if err != nil {
			return err
		}
		if err := saveMember(tx, before, after); err != nil {
			return err
		}
		if err := tx.Model(&invitationRow{}).Where("id = ?", inv.ID).
			Updates(map[string]any{"accepted_at": timestamp(now), "accepted_by": u.ID}).Error; err != nil {
			return err
		}
		change = models.MemberChange{Before: before, After: after}
		return s.notifyUsers(tx, u.ID)
	})
	if err != nil {
		return nil, models.MemberChange{}, dbError(err)
	}
	return inv, change, nil
}
