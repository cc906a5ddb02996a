package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/models"
)

// TestAuditRetention runs the background loop's purge with the default
// retention of 90 days, in batches of 7: the 25 events older than that go,
// oldest first, in four batches; the newer ones stay. On every database
// under test.
func TestAuditRetention(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			e := startOn(t, false, target.URL)
			now := time.Now().UTC()
			actor := int64(1 << 40)
			var events []models.AuditEvent
			for i := range 25 {
				events = append(events, models.AuditEvent{At: now.Add(-90*24*time.Hour - time.Duration(25-i)*time.Minute), ActorID: actor,
					Action: models.AuditDecisionDeny, Result: models.AuditDeny, RequestID: fmt.Sprint("old-", i)})
			}
			for i := range 3 {
				events = append(events, models.AuditEvent{At: now.Add(-89*24*time.Hour + time.Duration(i)*time.Minute), ActorID: actor,
					Action: models.AuditDecisionDeny, Result: models.AuditDeny, RequestID: fmt.Sprint("kept-", i)})
			}
			if err := e.srv.Store.InsertAuditEvents(context.Background(), events); err != nil {
				t.Fatal(err)
			}

			deleted, batches := server.PurgeAudit(e.srv, context.Background(), now, 7)
			if deleted != 25 || batches != 4 {
				t.Errorf("purge: got %d deleted in %d batches, want 25 in 4 (7, 7, 7, 4)", deleted, batches)
			}
			left, err := e.srv.Store.ListAuditEvents(context.Background(), models.AuditFilter{ActorID: actor, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, ev := range left {
				ids = append(ids, ev.RequestID)
			}
			if !slices.Equal(ids, []string{"kept-2", "kept-1", "kept-0"}) {
				t.Errorf("left: got %q, want the three events younger than 90 days", ids)
			}
			if !strings.Contains(e.logs.String(), `"msg":"purged old audit events","count":25,"batches":4`) {
				t.Errorf("log: got no line saying 25 old audit events were purged")
			}
			if deleted, batches := server.PurgeAudit(e.srv, context.Background(), now, 7); deleted != 0 || batches != 1 {
				t.Errorf("second purge: got %d deleted in %d batches, want none in one", deleted, batches)
			}
		})
	}
}

// TestAuditRetentionZeroKeepsEverything: ROLEGATE_AUDIT_RETENTION=0
// keeps every event, however old.
func TestAuditRetentionZeroKeepsEverything(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), false)
	cfg.AuditRetention = 0
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	old := models.AuditEvent{At: time.Now().AddDate(-10, 0, 0), Action: models.AuditDecisionDeny, Result: models.AuditDeny, RequestID: "ancient"}
	if err := srv.Store.InsertAuditEvents(context.Background(), []models.AuditEvent{old}); err != nil {
		t.Fatal(err)
	}
	if deleted, batches := server.PurgeAudit(srv, context.Background(), time.Now(), 7); deleted != 0 || batches != 0 {
		t.Errorf("purge with retention 0: got %d deleted in %d batches, want nothing done", deleted, batches)
	}
	left, err := srv.Store.ListAuditEvents(context.Background(), models.AuditFilter{Action: models.AuditDecisionDeny, Limit: 10})
	if err != nil || len(left) != 1 || left[0].RequestID != "ancient" {
		t.Errorf("left: got %+v, %v; want the ten-year-old event", left, err)
	}
}
