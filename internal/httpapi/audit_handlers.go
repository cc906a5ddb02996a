package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/models"
)

var auditResource = models.Resource{Type: models.ResourceAudit}

// auditJSON is an audit event as GET /v1/audit shows it.
type auditJSON struct {
	ID            int64          `json:"id"`
	At            time.Time      `json:"at"`
	ActorID       *int64         `json:"actor_id"`
	ActorRole     string         `json:"actor_role"`
	Action        string         `json:"action"`
	Target        string         `json:"target"`
	TenantID      *int64         `json:"tenant_id"`
	Result        string         `json:"result"`
	Rule          string         `json:"rule"`
	PolicyVersion string         `json:"policy_version"`
	RequestID     string         `json:"request_id"`
	ClientIP      string         `json:"client_ip"`
	Detail        map[string]any `json:"detail"`
	Count         int64          `json:"count"`
	FirstAt       time.Time      `json:"first_at"`
}

func toAuditJSON(e models.AuditEvent) auditJSON {
	out := auditJSON{
		ID: e.ID, At: e.At, ActorRole: e.ActorRole, Action: e.Action, Target: e.Target, Result: e.Result,
		Rule: e.Rule, PolicyVersion: e.PolicyVersion, RequestID: e.RequestID, ClientIP: e.ClientIP, Detail: e.Detail,
		Count: e.Count, FirstAt: e.FirstAt,
	}
	if e.ActorID != 0 {
		out.ActorID = &e.ActorID
	}
	if e.TenantID != 0 {
		out.TenantID = &e.TenantID
	}
	if out.Detail == nil {
		out.Detail = map[string]any{}
	}
	return out
}

// listAudit pages through the audit trail, newest first, like the user
// list: {"results": [...], "next": URL-or-null}.
func (h *handler) listAudit(c *gin.Context) error {
	if _, err := h.authorize(c, h.policies.Current(), auditResource, models.ActionRead); err != nil {
		return err
	}
	f, err := auditFilter(c.Request.URL.Query())
	if err != nil {
		return err
	}
	return h.writeAuditPage(c, f)
}

// writeAuditPage answers a page of the events f selects.
func (h *handler) writeAuditPage(c *gin.Context, f models.AuditFilter) error {
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	events, err := h.auditEvents.ListAuditEvents(c.Request.Context(), f)
	if err != nil {
		return err
	}
	events, next := page(h.publicURL, c.Request, events, limit, func(e models.AuditEvent) string {
		return encodeAuditCursor(models.AuditPosition{At: e.At, ID: e.ID})
	})
	results := make([]auditJSON, len(events))
	for i, e := range events {
		results[i] = toAuditJSON(e)
	}
	c.JSON(http.StatusOK, gin.H{"results": results, "next": next})
	return nil
}

// auditFilter reads ?limit, ?cursor, ?actor, ?action, ?since and ?until.
func auditFilter(q url.Values) (models.AuditFilter, error) {
	bad := fieldErrors{}
	var f models.AuditFilter
	f.Limit = pageLimit(q, bad)
	if s := q.Get("cursor"); s != "" {
		p, ok := decodeAuditCursor(s)
		if !ok {
			bad.add("cursor", "Invalid cursor.")
		}
		f.Before = p
	}
	if q.Has("actor") {
		id, err := strconv.ParseInt(q.Get("actor"), 10, 64)
		if err != nil || id <= 0 {
			bad.add("actor", "A valid user id is required.")
		}
		f.ActorID = id
	}
	if q.Has("action") {
		f.Action = q.Get("action")
		if !models.IsAuditAction(f.Action) {
			bad.add("action", fmt.Sprintf("%q is not a valid choice.", f.Action))
		}
	}
	f.Since = timeParam(q, "since", bad)
	f.Until = timeParam(q, "until", bad)
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		bad.add("until", "Must be later than since.")
	}
	return f, bad.err()
}

// timeParam reads an RFC 3339 time, zero when absent.
func timeParam(q url.Values, name string, bad fieldErrors) time.Time {
	if !q.Has(name) {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, q.Get(name))
	if err != nil {
		bad.add(name, "An RFC 3339 time such as 2006-01-02T15:04:05Z is required.")
	}
	return t
}

// encodeAuditCursor is the cursor of the page after p: its time in
// microseconds since 1970 (the precision both databases store) and its
// id, as base64url of "MICROS.ID". Clients treat it as opaque.
func encodeAuditCursor(p models.AuditPosition) string {
	raw := strconv.FormatInt(p.At.UnixMicro(), 10) + "." + strconv.FormatInt(p.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeAuditCursor reads a cursor encodeAuditCursor made, and only as it
// made it (as decodeCursor does for the user list): a cursor edited by
// hand, or another spelling of the same position, is refused.
func decodeAuditCursor(s string) (models.AuditPosition, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return models.AuditPosition{}, false
	}
	micros, id, found := strings.Cut(string(b), ".")
	us, err1 := strconv.ParseInt(micros, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	p := models.AuditPosition{At: time.UnixMicro(us).UTC(), ID: n}
	if !found || err1 != nil || err2 != nil || n <= 0 || encodeAuditCursor(p) != s {
		return models.AuditPosition{}, false
	}
	return p, true
}
