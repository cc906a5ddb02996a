package console

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/models"
)

type auditView struct {
	Query     url.Values
	Actions   []string
	Events    []models.AuditEvent
	Next      string
	Errors    []string
	CanExport bool
}

// parseAuditQuery reads the audit list's filters: ?actor (a user id),
// ?action, ?result, ?target, ?since and ?until (dates or RFC 3339 times,
// in UTC) and ?cursor. A bad value is named and ignored.
func parseAuditQuery(v url.Values, limit int) (models.AuditFilter, []string) {
	f := models.AuditFilter{Limit: limit}
	var problems []string
	if s := v.Get("actor"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			problems = append(problems, "The actor must be a user id; it was ignored.")
		}
		f.ActorID = max(id, 0)
	}
	if a := v.Get("action"); a != "" {
		if models.IsAuditAction(a) {
			f.Action = a
		} else {
			problems = append(problems, "Unknown action "+strconv.Quote(a)+"; it was ignored.")
		}
	}
	if r := v.Get("result"); r != "" {
		switch r {
		case models.AuditSuccess, models.AuditFailure, models.AuditDeny:
			f.Result = r
		default:
			problems = append(problems, "The result must be success, failure or deny; it was ignored.")
		}
	}
	f.Target = strings.TrimSpace(v.Get("target"))
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if s := v.Get(name); s != "" {
			t, ok := parseWhen(s)
			if !ok {
				problems = append(problems, "The "+name+" time must look like 2026-12-03 or 2026-12-03T10:00:00Z; it was ignored.")
			}
			*dst = t
		}
	}
	var ok bool
	if f.Before, ok = decodeAuditCursor(v.Get("cursor")); !ok {
		problems = append(problems, "The page cursor is not valid; showing the newest events.")
	}
	return f, problems
}

func parseWhen(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func encodeAuditCursor(e models.AuditEvent) string {
	s := e.At.UTC().Format(time.RFC3339Nano) + " " + strconv.FormatInt(e.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// decodeAuditCursor reads a cursor; "" is the start, and so is a bad
// cursor, reported by ok.
func decodeAuditCursor(s string) (models.AuditPosition, bool) {
	if s == "" {
		return models.AuditPosition{}, true
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return models.AuditPosition{}, false
	}
	at, id, found := strings.Cut(string(b), " ")
	t, terr := time.Parse(time.RFC3339Nano, at)
	n, nerr := strconv.ParseInt(id, 10, 64)
	if !found || terr != nil || nerr != nil || n <= 0 {
		return models.AuditPosition{}, false
	}
	return models.AuditPosition{At: t, ID: n}, true
}

// auditPage cuts events, fetched with one more than a page, to a page,
// and links the next one.
func auditPage(r *http.Request, events []models.AuditEvent) ([]models.AuditEvent, string) {
	if len(events) <= PageSize {
		return events, ""
	}
	events = events[:PageSize]
	next := r.URL.Query()
	next.Set("cursor", encodeAuditCursor(events[PageSize-1]))
	return events, r.URL.Path + "?" + next.Encode()
}

// auditFilter is parseAuditQuery with ?tenant (a tenant's slug or id)
// resolved: an unknown tenant matches no event, and says so.
func (c *Console) auditFilter(q *request, limit int) (models.AuditFilter, []string, error) {
	f, problems := parseAuditQuery(q.r.URL.Query(), limit)
	ref := strings.TrimSpace(q.r.URL.Query().Get("tenant"))
	if ref == "" {
		return f, problems, nil
	}
	if c.tenants == nil {
		return f, append(problems, "There are no tenants here; the tenant filter was ignored."), nil
	}
	t, err := c.tenants.TenantByRef(q.r.Context(), ref)
	if models.ErrorCode(err) == models.ENOTFOUND {
		f.TenantID = -1
		return f, append(problems, "There is no tenant "+strconv.Quote(ref)+", so no event matches."), nil
	}
	if err != nil {
		return f, problems, err
	}
	f.TenantID = t.ID
	return f, problems, nil
}

// auditList is the audit section: filters and paging.
func (c *Console) auditList(q *request) error {
	if err := q.authorize(models.Resource{Type: models.ResourceAudit}, models.ActionRead); err != nil {
		return err
	}
	f, problems, err := c.auditFilter(q, PageSize+1)
	if err != nil {
		return err
	}
	events, err := c.auditEvents.ListAuditEvents(q.r.Context(), f)
	if err != nil {
		return err
	}
	v := auditView{Query: q.r.URL.Query(), Actions: models.AuditActions, Errors: problems,
		CanExport: q.Can(models.ResourceAudit, models.ActionExport)}
	v.Events, v.Next = auditPage(q.r, events)
	c.render(q.w, q.r, 200, "audit", q, v)
	return nil
}
