package authz

import (
	"context"
	"errors"
	"time"

	"github.com/rolegate/rolegate/models"
)

// Published identifies a policy version row in the database.
type Published struct {
	ID          int64     `json:"id"`
	Version     string    `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	PublishedBy string    `json:"published_by,omitempty"`
	Comment     string    `json:"comment,omitempty"`
}

// The names a published policy's parts go by in errors and in
// "policy explain", as if they were the shipped files.
const (
	PublishedModel  = "model.conf"
	PublishedPolicy = "policy.csv"
	PublishedTests  = "policy_test.csv"
	PublishedRoutes = "routes.csv"
)

// PublishedSource is the Source of a published version. It always has a
// route table, as the files a version is published from always do, so the
// version Compile computes is the one publish stored.
func PublishedSource(v models.PolicyVersion) Source {
	return Source{
		ModelFile: PublishedModel, PolicyFile: PublishedPolicy, TestsFile: PublishedTests, RoutesFile: PublishedRoutes,
		Model: []byte(v.Model), Policy: []byte(v.Policy), Tests: []byte(v.Tests), Routes: []byte(v.Routes),
		Published: &Published{ID: v.ID, Version: v.Version, PublishedAt: v.PublishedAt, PublishedBy: v.PublishedBy, Comment: v.Comment},
	}
}

// PublishedVersions reads published policy versions; the store is one.
type PublishedVersions interface {
	// LatestPolicyVersion returns the newest version; ENOTFOUND if none.
	LatestPolicyVersion(ctx context.Context) (models.PolicyVersion, error)
}

// DatabaseLoader loads the newest published policy version, so that every
// replica serves the same one (ROLEGATE_POLICY_SOURCE=database).
//
// It plugs into Manager as a Loader rather than as a Casbin Watcher:
// Casbin's watcher tells an enforcer to re-read its adapter in place,
// while Manager builds, tests and swaps in a whole new Policy. A loader
// keeps that one path for every trigger, so a version from the database
// is validated and tested exactly as a file is.
type DatabaseLoader struct {
	Versions PublishedVersions
}

// ErrNothingPublished is the reason a database-mode server will not start
// on a database where no policy has been published.
var ErrNothingPublished = errors.New("no policy version is published in the database: " +
	"run 'rolegate policy publish' (with the same ROLEGATE_DATABASE_URL) first")

// Load reads the newest published version.
func (l DatabaseLoader) Load(ctx context.Context) (Source, error) {
	v, err := l.Versions.LatestPolicyVersion(ctx)
	var me *models.Error
	switch {
	case errors.As(err, &me) && me.Code == models.ENOTFOUND:
		return Source{}, LoadErrors{{File: "database", Reason: ErrNothingPublished.Error()}}
	case err != nil:
		return Source{}, LoadErrors{{File: "database", Reason: "read the published policy: " + err.Error()}}
	}
	return PublishedSource(v), nil
}

// Origin reports database mode; Manager adds the row in force.
func (l DatabaseLoader) Origin() Origin { return Origin{Mode: "database"} }
