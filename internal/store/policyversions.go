package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rolegate/rolegate/models"
)

// policyVersionRow is the policy_versions table.
type policyVersionRow struct {
	ID          int64 `gorm:"primaryKey"`
	Version     string
	Model       string
	Policy      string
	Routes      string
	Tests       string
	PublishedAt time.Time
	PublishedBy string
	Comment     string
}

func (policyVersionRow) TableName() string { return "policy_versions" }

func (r *policyVersionRow) model() models.PolicyVersion {
	return models.PolicyVersion{
		ID: r.ID, Version: r.Version, Model: r.Model, Policy: r.Policy, Routes: r.Routes, Tests: r.Tests,
		PublishedAt: r.PublishedAt.UTC(), PublishedBy: r.PublishedBy, Comment: r.Comment,
	}
}

// PolicyChannel is the PostgreSQL notification channel on which a publish
// announces its version, in the same transaction as the insert: listeners
// hear of a version only once it can be read.
const PolicyChannel = "rolegate_policy"

// policyPublishLockID is the PostgreSQL advisory lock key that makes
// publishes take turns, so that ids are committed in the order they are
// given and "highest id" is always the version published last.
const policyPublishLockID = 0x726f6c65706f6c69 // "rolepoli"

// PublishPolicyVersion stores v as the newest policy version and returns
// it with its id and time. On PostgreSQL it notifies PolicyChannel with
// the version when the transaction commits. The caller has validated v.
// Returns EUNAVAILABLE if the database fails.
func (s *Store) PublishPolicyVersion(ctx context.Context, v models.PolicyVersion) (models.PolicyVersion, error) {
	row := policyVersionRow{
		Version: v.Version, Model: text(v.Model), Policy: text(v.Policy), Routes: text(v.Routes), Tests: text(v.Tests),
		PublishedAt: timestamp(time.Now()), PublishedBy: text(v.PublishedBy), Comment: text(v.Comment),
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.dialect.lock(tx, policyPublishLockID); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.dialect.notify(tx, PolicyChannel, row.Version)
	})
	if err != nil {
		return models.PolicyVersion{}, dbError(err)
	}
	return row.model(), nil
}

// LatestPolicyVersion returns the newest published policy version: the one
// in force. Returns ENOTFOUND if none has been published.
func (s *Store) LatestPolicyVersion(ctx context.Context) (models.PolicyVersion, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var row policyVersionRow
	if err := db.Order("id DESC").Take(&row).Error; err != nil {
		return models.PolicyVersion{}, dbError(err)
	}
	return row.model(), nil
}

// LatestPolicyVersionID returns the id of the newest published policy
// version, or 0 if none has been published. It is cheap enough to poll.
func (s *Store) LatestPolicyVersionID(ctx context.Context) (int64, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var id *int64
	if err := db.Model(&policyVersionRow{}).Select("MAX(id)").Scan(&id).Error; err != nil {
		return 0, dbError(err)
	}
	if id == nil {
		return 0, nil
	}
	return *id, nil
}

// ListPolicyVersions returns up to limit published versions, newest first,
// without their text.
func (s *Store) ListPolicyVersions(ctx context.Context, limit int) ([]models.PolicyVersion, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var rows []policyVersionRow
	err := db.Select("id", "version", "published_at", "published_by", "comment").
		Order("id DESC").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, dbError(err)
	}
	out := make([]models.PolicyVersion, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// MinVersionPrefix is the shortest version prefix PolicyVersionByPrefix
// accepts.
const MinVersionPrefix = 4

// PolicyVersionByPrefix returns the newest published row whose version
// starts with prefix (hex, at least MinVersionPrefix characters). Rows
// with the same version hold the same text, so a prefix is ambiguous only
// when it matches two different versions. Returns EINVALID for a prefix
// that is malformed or ambiguous, ENOTFOUND when nothing matches.
func (s *Store) PolicyVersionByPrefix(ctx context.Context, prefix string) (models.PolicyVersion, error) {
	prefix = strings.ToLower(prefix)
	if len(prefix) < MinVersionPrefix || strings.Trim(prefix, "0123456789abcdef") != "" {
		return models.PolicyVersion{}, models.Errorf(models.EINVALID,
			"%q is not a policy version: want at least %d hex digits of one", prefix, MinVersionPrefix)
	}
	db, cancel := s.conn(ctx)
	defer cancel()
	var versions []string
	err := db.Model(&policyVersionRow{}).Distinct("version").
		Where("version LIKE ?", prefix+"%").Limit(2).Pluck("version", &versions).Error
	switch {
	case err != nil:
		return models.PolicyVersion{}, dbError(err)
	case len(versions) == 0:
		return models.PolicyVersion{}, models.Errorf(models.ENOTFOUND, "no published policy version starts with %q", prefix)
	case len(versions) > 1:
		return models.PolicyVersion{}, models.Errorf(models.EINVALID,
			"%q is ambiguous: it starts %s and %s; give more digits", prefix, versions[0], versions[1])
	}
	var row policyVersionRow
	if err := db.Where("version = ?", versions[0]).Order("id DESC").Take(&row).Error; err != nil {
		return models.PolicyVersion{}, dbError(err)
	}
	return row.model(), nil
}
