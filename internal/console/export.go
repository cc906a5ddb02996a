package console

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/models"
)

// exportBatch is how many rows an export reads per query; each batch is
// written and flushed before the next is read, so memory stays flat
// whatever the size of the list.
const exportBatch = 1000

// Cell escapes a CSV cell against formula injection (OWASP's advice): a
// value a spreadsheet would read as a formula, one starting with =, +, -,
// @, a tab or a carriage return, gets a leading apostrophe.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeRow(w *csv.Writer, cells ...string) error {
	for i, s := range cells {
		cells[i] = Cell(s)
	}
	return w.Write(cells)
}

func startCSV(q *request, name string) *csv.Writer {
	h := q.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	q.w.WriteHeader(http.StatusOK)
	return csv.NewWriter(q.w)
}

func flush(q *request, w *csv.Writer) error {
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if f, ok := q.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func formatTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// userExport streams the filtered user list as CSV, in the list's order.
// It needs list and export on users, and reading every user; the columns
// are the list's, never a password hash or an account key.
func (c *Console) userExport(q *request) error {
	users := models.Resource{Type: models.ResourceUsers}
	for _, a := range []string{models.ActionList, models.ActionExport} {
		if err := q.authorize(users, a); err != nil {
			return err
		}
	}
	uq, _ := parseUserQuery(q.r.URL.Query(), exportBatch)
	if _, err := c.membershipFilters(q, q.r.URL.Query(), &uq); err != nil {
		return err
	}
	uq.After = nil
	ctx := q.r.Context()
	first, err := c.users.QueryUsers(ctx, uq)
	if err != nil {
		return err
	}
	w := startCSV(q, "users")
	if err := writeRow(w, "id", "username", "email", "first_name", "last_name", "role", "is_active", "date_joined", "last_login"); err != nil {
		return nil
	}
	for page := first; len(page) > 0; {
		for _, u := range page {
			dj := u.DateJoined
			if err := writeRow(w, strconv.FormatInt(u.ID, 10), u.Username, u.Email, u.FirstName, u.LastName, u.Role,
				strconv.FormatBool(u.IsActive), formatTime(&dj), formatTime(u.LastLogin)); err != nil {
				return nil // the client went away; the status is sent
			}
		}
		if flush(q, w) != nil || len(page) < exportBatch {
			return nil
		}
		uq.After, _ = decodeUserCursor(encodeUserCursor(page[len(page)-1], uq.Order))
		if page, err = c.users.QueryUsers(ctx, uq); err != nil {
			c.log.ErrorContext(ctx, "console user export stopped", "err", err)
			return nil
		}
	}
	return nil
}

// auditExport streams the filtered audit trail as CSV, newest first.
func (c *Console) auditExport(q *request) error {
	audit := models.Resource{Type: models.ResourceAudit}
	for _, a := range []string{models.ActionRead, models.ActionExport} {
		if err := q.authorize(audit, a); err != nil {
			return err
		}
	}
	f, _, err := c.auditFilter(q, exportBatch)
	if err != nil {
		return err
	}
	f.Before = models.AuditPosition{}
	ctx := q.r.Context()
	page, err := c.auditEvents.ListAuditEvents(ctx, f)
	if err != nil {
		return err
	}
	w := startCSV(q, "audit")
	if writeRow(w, "id", "at", "actor_id", "actor_role", "action", "target", "result", "rule", "policy_version", "client_ip", "count", "detail") != nil {
		return nil
	}
	for len(page) > 0 {
		for _, e := range page {
			detail, _ := json.Marshal(e.Detail)
			if writeRow(w, strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), strconv.FormatInt(e.ActorID, 10), e.ActorRole,
				e.Action, e.Target, e.Result, e.Rule, e.PolicyVersion, e.ClientIP, strconv.FormatInt(max(e.Count, 1), 10), string(detail)) != nil {
				return nil
			}
		}
		if flush(q, w) != nil || len(page) < exportBatch {
			return nil
		}
		f.Before = models.AuditPosition{At: page[len(page)-1].At, ID: page[len(page)-1].ID}
		if page, err = c.auditEvents.ListAuditEvents(ctx, f); err != nil {
			c.log.ErrorContext(ctx, "console audit export stopped", "err", err)
			return nil
		}
	}
	return nil
}
