package store

import (
	"context"
	"time"

	"github.com/rolegate/rolegate/models"
)

// replicaRetention is how long a replica that stopped reporting stays in
// policy_replicas: a restarted server is a new instance, so old rows are
// pruned rather than kept for ever.
const replicaRetention = 24 * time.Hour

// RecordReplica stores r as its instance's report, replacing the previous
// one, and prunes the reports of replicas silent for a day.
func (s *Store) RecordReplica(ctx context.Context, r models.Replica) error {
	db, cancel := s.conn(ctx)
	defer cancel()
	err := db.Exec(`INSERT INTO policy_replicas (instance_id, version, loaded_at, seen_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (instance_id) DO UPDATE SET version = excluded.version, loaded_at = excluded.loaded_at, seen_at = excluded.seen_at`,
		r.Instance, r.Version, timestamp(r.LoadedAt), timestamp(r.SeenAt)).Error
	if err != nil {
		return dbError(err)
	}
	return dbError(db.Exec("DELETE FROM policy_replicas WHERE seen_at < ?", timestamp(r.SeenAt.Add(-replicaRetention))).Error)
}

// Replicas returns up to limit replicas that reported since, the most
// recently seen first.
func (s *Store) Replicas(ctx context.Context, since time.Time, limit int) ([]models.Replica, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	var rows []struct {
		InstanceID string
		Version    string
		LoadedAt   time.Time
		SeenAt     time.Time
	}
	err := db.Raw(`SELECT instance_id, version, loaded_at, seen_at FROM policy_replicas WHERE seen_at >= ?
		ORDER BY seen_at DESC, instance_id LIMIT ?`, timestamp(since), limit).Scan(&rows).Error
	if err != nil {
		return nil, dbError(err)
	}
	out := make([]models.Replica, len(rows))
	for i, r := range rows {
		out[i] = models.Replica{Instance: r.InstanceID, Version: r.Version, LoadedAt: r.LoadedAt.UTC(), SeenAt: r.SeenAt.UTC()}
	}
	return out, nil
}
