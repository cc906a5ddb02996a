package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/tenancy"
	"github.com/rolegate/rolegate/models"
)

// TenantStore is what the tenants section needs from storage.
type TenantStore interface {
	tenancy.TenantReader
	tenancy.MemberWriter
	QueryTenants(ctx context.Context, q models.TenantQuery) ([]*models.Tenant, error)
	// CountTenantsMatching counts up to atMost tenants, and returns atMost+1 when
	// there are more.
	CountTenantsMatching(ctx context.Context, q models.TenantQuery, atMost int64) (int64, error)
	// UpdateTenant returns ENOTFOUND, or EINVALID for a bad result.
	UpdateTenant(ctx context.Context, id int64, patch models.TenantPatch) (models.TenantChange, error)
	ListMembers(ctx context.Context, tenantID int64, f models.MemberFilter) ([]*models.Membership, error)
	ListInvitations(ctx context.Context, tenantID int64, f models.InvitationFilter) ([]*models.Invitation, error)
	// UserByUsername returns ENOTFOUND if there is no such user.
	UserByUsername(ctx context.Context, username string) (*models.User, error)
}

// tenantListView is the tenants page.
type tenantListView struct {
	Query  url.Values
	Q      string
	Active string
	listSort
	Tenants  []*models.Tenant
	Count    int64
	MoreThan bool
	Next     string
	Errors   []string
}

// parseTenantQuery reads the list's bookmarkable parameters, in Django's
// spelling: ?q, ?is_active, ?o and ?cursor. A bad value is named and
// ignored, as on the users list.
func parseTenantQuery(v url.Values, limit int) (models.TenantQuery, []string) {
	search, active, order, problems := listParams(v, models.TenantOrders)
	q := models.TenantQuery{Search: search, IsActive: active, Order: order, Limit: limit}
	if s := v.Get("cursor"); s != "" {
		c, ok := decodeTenantCursor(s)
		if !ok {
			problems = append(problems, badCursor)
		}
		q.After = c
	}
	return q, problems
}

// encodeTenantCursor writes the position after t in the order: its id
// and its sort value.
func encodeTenantCursor(t *models.Tenant, order string) string {
	var key string
	switch strings.TrimPrefix(order, "-") {
	case "name":
		key = t.Name
	case "slug":
		key = t.Slug
	case "created":
		key = t.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.ID, 10) + "\n" + key))
}

func decodeTenantCursor(s string) (*models.TenantCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	id, key, found := strings.Cut(string(b), "\n")
	n, err := strconv.ParseInt(id, 10, 64)
	if !found || err != nil || n < 0 {
		return nil, false
	}
	c := &models.TenantCursor{ID: n, Key: key}
	if t, err := time.Parse(time.RFC3339Nano, key); err == nil {
		c.Time = &t
	}
	return c, true
}

// tenantList is the tenants section: search, the active filter, sort, a
// count and cursor paging, for viewers who may list every tenant.
func (c *Console) tenantList(q *request) error {
	if err := q.authorize(models.Resource{Type: models.ResourceTenants}, models.ActionList); err != nil {
		return err
	}
	params := q.r.URL.Query()
	tq, problems := parseTenantQuery(params, PageSize+1)
	ctx := q.r.Context()
	tenants, err := c.tenants.QueryTenants(ctx, tq)
	if err != nil {
		return err
	}
	count, err := c.tenants.CountTenantsMatching(ctx, tq, CountCap)
	if err != nil {
		return err
	}
	v := tenantListView{Query: params, Q: tq.Search, Active: params.Get("is_active"), listSort: listSort{Order: tq.Order}, Count: count, Errors: problems}
	if count > CountCap {
		v.Count, v.MoreThan = CountCap, true
	}
	if len(tenants) > PageSize {
		tenants = tenants[:PageSize]
		next := url.Values{}
		for k, vals := range params {
			next[k] = vals
		}
		next.Set("cursor", encodeTenantCursor(tenants[PageSize-1], tq.Order))
		v.Next = "/console/tenants?" + next.Encode()
	}
	v.Tenants = tenants
	c.render(q.w, q.r, 200, "tenants", q, v)
	return nil
}

// tenantAsker is how the console decides inside a tenant: the request's
// policy, and a refusal recorded in the tenant's trail, as the API
// records it, and answered 403.
func (q *request) tenantAsker() tenancy.Asker {
	return tenancy.Asker{Decide: decideWith, Deny: func(sc *tenancy.Scope, d models.Decision, res models.Resource, action string) error {
		q.c.record(q.r, q.viewer, models.AuditEvent{
			Action: models.AuditDecisionDeny, Result: models.AuditDeny, Target: tenancy.Target(sc.Tenant), TenantID: sc.Tenant.ID,
			PolicyVersion: d.PolicyVersion, Detail: map[string]any{"resource": res.Type, "action": action},
		})
		return &models.Error{Code: models.EFORBIDDEN, Message: fmt.Sprintf("The policy does not let you %s %s in this tenant.", action, res.Type),
			Details: map[string]any{"resource": res.Type, "action": action}}
	}}
}
