package console

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// PageSize is the number of users or events on one page.
const PageSize = 50

// CountCap is the most matching users the list counts exactly; past it,
// the list says "more than".
const CountCap = 10000

// userListView is the users page.
type userListView struct {
	Query  url.Values
	Q      string
	Role   string
	Active string
	Group  string
	Tenant string
	listSort
	Roles []string
	// Groups are the group filter's choices, nil when the viewer may not
	// read the groups; ShowTenant shows the tenant filter.
	Groups     []string
	ShowTenant bool
	// AddGroups are the groups the bulk "add to group" may add to.
	AddGroups []string
	Users     []*models.User
	Count     int64
	MoreThan  bool
	Next      string
	Errors    []string
	CanBulk   bool
	CanExport bool
	Actions   []bulkAction
}

// parseUserQuery reads the list's bookmarkable parameters, in Django's
// spelling: ?q, ?role, ?is_active, ?o and ?cursor. A bad value is named
// and ignored, so that an old bookmark still shows a list.
func parseUserQuery(v url.Values, limit int) (models.UserQuery, []string) {
	search, active, order, problems := listParams(v, models.UserOrders)
	q := models.UserQuery{Search: search, IsActive: active, Order: order, Limit: limit}
	if r := v.Get("role"); r != "" {
		q.Role = &r
	}
	if s := v.Get("cursor"); s != "" {
		c, ok := decodeUserCursor(s)
		if !ok {
			problems = append(problems, badCursor)
		}
		q.After = c
	}
	return q, problems
}

// encodeUserCursor writes the position after u in the order: its id, its
// username key and, for the orders by time, the time.
func encodeUserCursor(u *models.User, order string) string {
	var t string
	switch strings.TrimPrefix(order, "-") {
	case "date_joined":
		t = u.DateJoined.UTC().Format(time.RFC3339Nano)
	case "last_login":
		if u.LastLogin != nil {
			t = u.LastLogin.UTC().Format(time.RFC3339Nano)
		}
	}
	s := strconv.FormatInt(u.ID, 10) + "\n" + t + "\n" + account.UsernameKey(u.Username)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeUserCursor(s string) (*models.UserCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	parts := strings.SplitN(string(b), "\n", 3)
	if len(parts) != 3 {
		return nil, false
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id < 0 {
		return nil, false
	}
	c := &models.UserCursor{ID: id, Username: parts[2]}
	if parts[1] != "" {
		t, err := time.Parse(time.RFC3339Nano, parts[1])
		if err != nil {
			return nil, false
		}
		c.Time = &t
	}
	return c, true
}

// userList is the users section: search, filters, sort, a count, cursor
// paging, and the bulk actions the viewer holds.
func (c *Console) userList(q *request) error {
	if err := q.authorize(models.Resource{Type: models.ResourceUsers}, models.ActionList); err != nil {
		return err
	}
	params := q.r.URL.Query()
	uq, problems := parseUserQuery(params, PageSize+1)
	more, err := c.membershipFilters(q, params, &uq)
	if err != nil {
		return err
	}
	problems = append(problems, more...)
	ctx := q.r.Context()
	users, err := c.users.QueryUsers(ctx, uq)
	if err != nil {
		return err
	}
	count, err := c.users.CountUsers(ctx, uq, CountCap)
	if err != nil {
		return err
	}
	v := userListView{
		Query: params, Q: uq.Search, listSort: listSort{Order: uq.Order}, Roles: q.pol.Roles(), Count: count, Errors: problems,
		Actions: q.bulkActions(), CanExport: q.Can(models.ResourceUsers, models.ActionExport),
	}
	v.Role, v.Active, v.Group, v.Tenant = params.Get("role"), params.Get("is_active"), uq.Group, strings.TrimSpace(params.Get("tenant"))
	v.Groups, v.ShowTenant = q.groupChoices(models.ActionRead), q.Can(models.ResourceMembers, models.ActionList)
	v.AddGroups = q.groupChoices(models.ActionAssign)
	v.CanBulk = len(v.Actions) > 0
	if count > CountCap {
		v.Count, v.MoreThan = CountCap, true
	}
	if len(users) > PageSize {
		users = users[:PageSize]
		next := url.Values{}
		for k, vals := range params {
			next[k] = vals
		}
		next.Set("cursor", encodeUserCursor(users[PageSize-1], uq.Order))
		v.Next = "/console/users?" + next.Encode()
	}
	v.Users = users
	c.render(q.w, q.r, 200, "users", q, v)
	return nil
}

// membershipFilters adds the list's ?group and ?tenant filters to uq,
// each only for a viewer who may see those memberships (read the groups;
// list tenant members), or names the filter it ignored. A tenant is given
// by slug or id; an unknown one matches no user.
func (c *Console) membershipFilters(q *request, v url.Values, uq *models.UserQuery) ([]string, error) {
	var problems []string
	if g := strings.TrimSpace(v.Get("group")); g != "" {
		switch {
		case !q.Can(models.ResourceGroups, models.ActionRead):
			problems = append(problems, "You may not see the groups; the group filter was ignored.")
		case models.ValidateGroupName(g) != nil:
			problems = append(problems, "The group name is not valid and was ignored.")
		default:
			uq.Group = g
		}
	}
	ref := strings.TrimSpace(v.Get("tenant"))
	if ref == "" {
		return problems, nil
	}
	if !q.Can(models.ResourceMembers, models.ActionList) {
		return append(problems, "You may not see tenant members; the tenant filter was ignored."), nil
	}
	t, err := c.userTenants.TenantByRef(q.r.Context(), ref)
	switch models.ErrorCode(err) {
	case "":
		uq.TenantID = t.ID
	case models.ENOTFOUND:
		uq.TenantID = -1
		problems = append(problems, "No tenant has the slug or id "+strconv.Quote(ref)+".")
	default:
		return nil, err
	}
	return problems, nil
}

// groupChoices are the policy's groups, for a viewer who holds action on
// the groups; nil for one who does not.
func (q *request) groupChoices(action string) []string {
	if !q.Can(models.ResourceGroups, action) {
		return nil
	}
	var out []string
	for _, g := range q.pol.Groups() {
		out = append(out, g.Name)
	}
	return out
}
