package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolegate/rolegate/models"
)

// auditRow is the audit_events table.
type auditRow struct {
	ID            int64 `gorm:"primaryKey"`
	At            time.Time
	ActorID       *int64
	ActorRole     string
	Action        string
	Target        string
	Result        string
	Rule          string
	PolicyVersion string
	RequestID     string
	ClientIP      string
	Detail        string
	Count         int64
	FirstAt       *time.Time // NULL for rows written before migration 0006: then it is at
	TenantID      *int64
}

func (auditRow) TableName() string { return "audit_events" }

func (r *auditRow) model() models.AuditEvent {
	e := models.AuditEvent{
		ID: r.ID, At: r.At.UTC(), ActorRole: r.ActorRole, Action: r.Action, Target: r.Target, Result: r.Result,
		Rule: r.Rule, PolicyVersion: r.PolicyVersion, RequestID: r.RequestID, ClientIP: r.ClientIP,
		Count: r.Count, FirstAt: r.At.UTC(),
	}
	if r.FirstAt != nil {
		e.FirstAt = r.FirstAt.UTC()
	}
	if r.ActorID != nil {
		e.ActorID = *r.ActorID
	}
	if r.TenantID != nil {
		e.TenantID = *r.TenantID
	}
	// A detail that does not parse (written by hand, say) is shown empty
	// rather than failing the whole page.
	json.Unmarshal([]byte(r.Detail), &e.Detail)
	return e
}

// MaxAuditBatch is the most events one INSERT statement carries on
// PostgreSQL: 500 rows of 14 columns stay far below its limit on bound
// values.
const MaxAuditBatch = 500

// maxAuditDetail caps the stored detail of one event, in bytes of JSON.
const maxAuditDetail = 8 << 10

var auditColumns = []string{
	"at", "actor_id", "actor_role", "action", "target", "result",
	"rule", "policy_version", "request_id", "client_ip", "detail", "count", "first_at", "tenant_id",
}

// InsertAuditEvents stores events in one transaction, in multi-row
// INSERTs: all of them, or none and EUNAVAILABLE, so that a retry never
// stores an event twice.
//
// The statements bypass GORM's prepared-statement cache, which keeps every
// distinct statement forever: a batch of each size from 1 to 500 would be
// one more. The driver's own statement cache is bounded.
func (s *Store) InsertAuditEvents(ctx context.Context, events []models.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return models.Unavailable(err)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return models.Unavailable(fmt.Errorf("insert audit events: %w", err))
	}
	defer tx.Rollback()
	for batch := range slices.Chunk(events, s.dialect.auditRowsPerInsert) {
		query, args := s.auditInsert(batch)
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return models.Unavailable(fmt.Errorf("insert %d audit events: %w", len(batch), err))
		}
	}
	if err := tx.Commit(); err != nil {
		return models.Unavailable(fmt.Errorf("insert audit events: %w", err))
	}
	return nil
}

// auditInsert builds one multi-row INSERT of events.
func (s *Store) auditInsert(events []models.AuditEvent) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO audit_events (" + strings.Join(auditColumns, ", ") + ") VALUES ")
	args := make([]any, 0, len(events)*len(auditColumns))
	for i, e := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range auditColumns {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", len(args)+j+1)
		}
		b.WriteByte(')')
		args = append(args, auditValues(e)...)
	}
	return b.String(), args
}

// auditValues are e's column values in the order of auditColumns.
func auditValues(e models.AuditEvent) []any {
	var actor, tenant any
	if e.ActorID != 0 {
		actor = e.ActorID
	}
	if e.TenantID != 0 {
		tenant = e.TenantID
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	first := e.FirstAt
	if first.IsZero() {
		first = at
	}
	return []any{
		timestamp(at), actor, text(e.ActorRole), text(e.Action), text(e.Target), text(e.Result),
		text(e.Rule), text(e.PolicyVersion), text(e.RequestID), text(e.ClientIP), detailJSON(e.Detail),
		max(1, e.Count), timestamp(first), tenant,
	}
}

// text makes s storable in any text column: PostgreSQL refuses NUL bytes
// and invalid UTF-8, and one refused value would fail its whole batch.
func text(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// detailJSON encodes a detail, replacing one too large to be "small" by a
// marker rather than storing it.
func detailJSON(d map[string]any) string {
	if len(d) == 0 {
		return "{}"
	}
	b, err := json.Marshal(d)
	if err != nil {
		return `{"unencodable":true}`
	}
	if len(b) > maxAuditDetail {
		return `{"truncated":true}`
	}
	return text(string(b))
}

// ListAuditEvents returns up to f.Limit events matching f, newest first by
// time and then by id, starting after the position f.Before. The row
// comparison is served by the (at, id) indexes of migration 0006.
func (s *Store) ListAuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	q := db.Model(&auditRow{})
	if !f.Before.IsZero() {
		q = q.Where("(at, id) < (?, ?)", timestamp(f.Before.At), f.Before.ID)
	}
	if f.ActorID != 0 {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.TenantID != 0 {
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	if f.Result != "" {
		q = q.Where("result = ?", f.Result)
	}
	if f.Target != "" {
		q = q.Where("target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", timestamp(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", timestamp(f.Until))
	}
	var rows []auditRow
	if err := q.Order("at DESC, id DESC").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, dbError(err)
	}
	out := make([]models.AuditEvent, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// PurgeAuditEvents deletes the oldest events from before cutoff, at most
// batch of them in one statement, and returns how many it deleted; fewer
// than batch means none are left, or another purge holds the rest. Each
// batch is its own short statement, so a large purge never holds locks
// for long. On PostgreSQL a batch skips the rows another replica's purge
// has locked instead of waiting for them, so replicas purging at once
// delete disjoint batches. SQLite has a single writer.
func (s *Store) PurgeAuditEvents(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	db, cancel := s.conn(ctx)
	defer cancel()
	res := db.Exec("DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ? ORDER BY at, id LIMIT ?"+s.dialect.skipLocked+")",
		timestamp(cutoff), batch)
	return res.RowsAffected, dbError(res.Error)
}
