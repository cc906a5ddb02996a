package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// How a database-mode server reports the policy it serves (the
// policy_replicas table, which the console's dashboard reads).
const (
	// ReplicaHeartbeat is how often a running server reports even when
	// its policy has not changed, so that it stays among those seen.
	// The console lists those seen in the last console.ReplicaWindow.
	ReplicaHeartbeat = time.Minute
	// replicaWriteTimeout bounds one report, which a reload waits for.
	replicaWriteTimeout = 2 * time.Second
)

// newInstanceID names this server among the replicas: its host, its
// process, and a random suffix that tells apart two servers in one
// process (the tests) or a reused pid.
func newInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), strings.ToLower(rand.Text()[:6]))
}

// InstanceID is the name under which this server reports the policy it
// serves; empty outside database mode.
func (s *Server) InstanceID() string { return s.instance }

// reportReplicas reports the policy in force now and after every reload,
// in database mode only; the heartbeat is Serve's (heartbeatReplica).
func (s *Server) reportReplicas() {
	s.instance = newInstanceID()
	s.reportReplica()
	s.Policy.Observe(func(authz.ReloadResult) { s.reportReplica() })
}

// reportReplica records the version in force. A failure is logged: the
// report is for people, and serving goes on without it.
func (s *Server) reportReplica() {
	ctx, cancel := context.WithTimeout(context.Background(), replicaWriteTimeout)
	defer cancel()
	pol := s.Policy.Current()
	r := models.Replica{Instance: s.instance, Version: pol.Version(), LoadedAt: pol.LoadedAt(), SeenAt: time.Now()}
	if err := s.Store.RecordReplica(ctx, r); err != nil {
		s.log.Warn("report the policy version this replica serves", "instance", s.instance, "err", err)
	}
}

// heartbeatReplica reports once a ReplicaHeartbeat until ctx is done.
func (s *Server) heartbeatReplica(ctx context.Context) {
	t := time.NewTicker(ReplicaHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reportReplica()
		}
	}
}
