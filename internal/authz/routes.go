package authz

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/csvlines"
	"github.com/rolegate/rolegate/models"
)

// Route is one line of a route table (routes.csv): requests with this
// method and path are the action on the resource, owned by the user whose
// id is the Owner parameter of the path, inside the tenant the Tenant
// parameter names. A reverse proxy asks rolegate about a request (GET
// /v1/authz/forward); the route table turns it into a question the policy
// can answer.
type Route struct {
	Line     int    `json:"line"`
	Method   string `json:"method"` // upper case, or "*" for every method
	Path     string `json:"path"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Owner    string `json:"owner"` // ":name" of a path parameter, or "-"
	// Tenant is the ":name" of the path parameter that holds the tenant
	// (its slug or id), or "-" for a route outside any tenant, which is
	// what a line without the column means.
	Tenant string `json:"tenant"`

	segments []string // the pattern without its leading "/" and trailing "*"
	rest     bool     // the pattern ends in "/*": any further segments match
	owner    int      // the index of the owner's segment, or -1
	tenant   int      // the index of the tenant's segment, or -1
}

// Target is what a forwarded request asks the policy, and the route that
// said so.
type Target struct {
	Resource models.Resource
	Action   string
	// Tenant is the decoded value of the request's tenant segment, for
	// the caller to resolve to a tenant (a slug or an id, as the upstream
	// names tenants); empty when the route names no tenant segment.
	Tenant string
	Route  Route
}

const (
	routeType    = "route"
	anyMethod    = "*"
	noParam      = "-" // no owner, or no tenant
	maxPathBytes = 4096
)

var (
	methodName = regexp.MustCompile(`^[A-Z]+$`)
	paramName  = regexp.MustCompile(`^:[A-Za-z_][A-Za-z0-9_]*$`)
	// literalSegment allows RFC 3986's unreserved characters and the
	// sub-delimiters except ";", which some servers read as the start of
	// path parameters ("..;/" is ".." to Tomcat).
	literalSegment = regexp.MustCompile(`^[A-Za-z0-9\-._~!$&'()+,=@:]+$`)
)

// parseRoutes reads a route table, one route per line (see csvlines for
// the syntax), and reports every problem with its line.
func parseRoutes(file string, data []byte) ([]Route, LoadErrors) {
	var routes []Route
	var errs LoadErrors
	first := map[string]int{} // "METHOD path" -> the line of its first route
	for l, err := range csvlines.Read(data) {
		if err != nil {
			errs = append(errs, LoadError{File: file, Line: l.N, Reason: err.Error()})
			continue
		}
		r, reason := parseRoute(l.Fields)
		if reason == "" {
			reason = shadowed(first, r)
		}
		if reason != "" {
			errs = append(errs, LoadError{File: file, Line: l.N, Reason: reason})
			continue
		}
		r.Line = l.N
		first[r.Method+" "+strings.ToLower(r.Path)] = l.N
		routes = append(routes, r)
	}
	return routes, errs
}

// shadowed returns why r can never match because an earlier route has the
// same path and covers its method, or "".
func shadowed(first map[string]int, r Route) string {
	path := strings.ToLower(r.Path)
	for _, m := range []string{r.Method, anyMethod} {
		if line, ok := first[m+" "+path]; ok {
			return fmt.Sprintf("route %s %s never matches: line %d matches it first", r.Method, r.Path, line)
		}
	}
	return ""
}

// parseRoute parses the fields of one line, or returns why they are not a
// route.
func parseRoute(fields []string) (Route, string) {
	if fields[0] != routeType {
		return Route{}, fmt.Sprintf("unknown line type %q: want %q", fields[0], routeType)
	}
	if len(fields) != 6 && len(fields) != 7 {
		return Route{}, fmt.Sprintf("route has %d fields, want 5 or 6 (method, path, resource, action, owner[, tenant])", len(fields)-1)
	}
	r := Route{Method: fields[1], Path: fields[2], Resource: fields[3], Action: fields[4], Owner: fields[5], Tenant: noParam, owner: -1, tenant: -1}
	if len(fields) == 7 {
		r.Tenant = fields[6]
	}
	if r.Method != anyMethod && !methodName.MatchString(r.Method) {
		return Route{}, fmt.Sprintf("method %q: want * or an upper-case method such as GET", r.Method)
	}
	if reason := r.compilePath(); reason != "" {
		return Route{}, fmt.Sprintf("path %q: %s", r.Path, reason)
	}
	if r.Resource == "" || r.Action == "" {
		return Route{}, "resource and action must not be empty"
	}
	var reason string
	if r.owner, reason = r.param("owner", r.Owner); reason != "" {
		return Route{}, reason
	}
	if r.tenant, reason = r.param("tenant", r.Tenant); reason != "" {
		return Route{}, reason
	}
	if r.owner >= 0 && r.owner == r.tenant {
		return Route{}, fmt.Sprintf("owner and tenant are both %s: one segment cannot hold a user id and a tenant", r.Owner)
	}
	return r, ""
}

// compilePath splits the path pattern into segments, or returns why it is
// not a pattern: "/" followed by literal or ":name" segments, and at most a
// final "*".
func (r *Route) compilePath() string {
	if !strings.HasPrefix(r.Path, "/") {
		return "must start with /"
	}
	if r.Path == "/" {
		return ""
	}
	segs := strings.Split(r.Path[1:], "/")
	if segs[len(segs)-1] == "*" {
		r.rest, segs = true, segs[:len(segs)-1]
	}
	seen := map[string]bool{}
	for _, s := range segs {
		switch {
		case s == "":
			return "has an empty segment (// or a trailing /)"
		case s == "." || s == "..":
			return "has a . or .. segment"
		case strings.HasPrefix(s, ":"):
			if !paramName.MatchString(s) {
				return fmt.Sprintf("parameter %q: want : and a name of letters, digits and _", s)
			}
			if seen[s] {
				return fmt.Sprintf("parameter %s appears twice", s)
			}
			seen[s] = true
		case strings.Contains(s, "*"):
			return "* may only be the whole last segment (/*)"
		case !literalSegment.MatchString(s):
			return fmt.Sprintf("segment %q may hold only letters, digits and -._~!$&'()+,=@:", s)
		}
	}
	r.segments = segs
	return ""
}

// param resolves the owner or the tenant column, named column, to the
// index of its segment: -1 for "-", or the position of a parameter of the
// path.
func (r *Route) param(column, value string) (int, string) {
	if value == noParam {
		return -1, ""
	}
	for i, s := range r.segments {
		if s == value && strings.HasPrefix(s, ":") {
			return i, ""
		}
	}
	return -1, fmt.Sprintf("%s %q: want - or a :parameter of the path %s", column, value, r.Path)
}

// errNoRoute is the answer for a request the route table does not map.
// Nothing unmapped is allowed.
var errNoRoute = &models.Error{Code: models.EFORBIDDEN, Reason: "no_route", Message: "No route of the route table matches this request."}

// Route finds the first route that matches a forwarded request: its
// method, and its request URI as the client sent it (the query is
// ignored). A path that is not plainly one path, such as one with ".."
// or an encoded "/", matches nothing: the proxy's upstream might read it
// differently from the route table. It returns EFORBIDDEN, with reason
// "invalid_path" or "no_route", when nothing matches.
func (p *Policy) Route(method, uri string) (Target, error) {
	segs, reason := pathSegments(uri)
	if reason != "" {
		return Target{}, &models.Error{Code: models.EFORBIDDEN, Reason: "invalid_path", Message: "The request path is refused: " + reason + "."}
	}
	method = strings.ToUpper(method)
	for _, r := range p.routes {
		if r.matches(method, segs) {
			return r.target(segs), nil
		}
	}
	return Target{}, errNoRoute
}

// Routes returns the route table, in file order.
func (p *Policy) Routes() []Route {
	out := make([]Route, len(p.routes))
	copy(out, p.routes)
	return out
}

// matches reports whether the route covers method and the request path's
// segments. Literal segments compare without regard to case: an upstream
// that ignores case must not let /API/ADMIN slip past a rule for
// /api/admin, and for one that does not the stricter route applies. A GET
// route also covers HEAD, which servers answer with their GET handlers.
func (r Route) matches(method string, segs []string) bool {
	if r.Method != anyMethod && r.Method != method && (r.Method != "GET" || method != "HEAD") {
		return false
	}
	if len(segs) < len(r.segments) || (!r.rest && len(segs) != len(r.segments)) {
		return false
	}
	for i, s := range r.segments {
		if !strings.HasPrefix(s, ":") && !strings.EqualFold(s, segs[i]) {
			return false
		}
	}
	return true
}

func (r Route) target(segs []string) Target {
	t := Target{Resource: models.Resource{Type: r.Resource}, Action: r.Action, Route: r}
	if r.owner >= 0 {
		t.Resource.OwnerID = ownerID(segs[r.owner])
	}
	if r.tenant >= 0 {
		t.Tenant = segs[r.tenant]
	}
	return t
}

// ownerID reads a canonical positive id; anything else, such as "me" or
// "007", is no owner, which an "own" grant never matches.
func ownerID(s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0
	}
	return id
}

// pathSegments splits a request URI's path into decoded segments, or
// returns why it refuses the path. It refuses rather than normalizes
// anything that servers disagree about: what the route table matches must
// be what the upstream serves.
//   - dot segments ("..", ".", also as %2e%2e): one server resolves them,
//     another serves them literally;
//   - empty segments ("//"): some merge them, some do not;
//   - "/", "\", ";" or "%" inside a segment once decoded (%2F, %5C, %3B,
//     and double encoding such as %252e): some servers decode twice or read
//     them as separators;
//   - control characters, invalid UTF-8 and bad percent-encoding.
//
// One trailing slash is ignored, so /api/users/ is /api/users.
func pathSegments(uri string) ([]string, string) {
	path, _, _ := strings.Cut(uri, "?")
	switch {
	case len(path) > maxPathBytes:
		return nil, fmt.Sprintf("it is longer than %d bytes", maxPathBytes)
	case !strings.HasPrefix(path, "/"):
		return nil, "it does not start with /"
	case strings.Contains(path, "#"):
		return nil, "it holds a fragment"
	}
	raw := strings.Split(path[1:], "/")
	if n := len(raw); n > 1 && raw[n-1] == "" {
		raw = raw[:n-1]
	}
	if len(raw) == 1 && raw[0] == "" {
		return nil, ""
	}
	segs := make([]string, len(raw))
	for i, r := range raw {
		s, reason := pathSegment(r)
		if reason != "" {
			return nil, reason
		}
		segs[i] = s
	}
	return segs, ""
}

func pathSegment(raw string) (string, string) {
	if raw == "" {
		return "", "it has an empty segment (//)"
	}
	s, err := url.PathUnescape(raw)
	switch {
	case err != nil:
		return "", "it has bad percent-encoding"
	case s == "." || s == "..":
		return "", "it has a . or .. segment"
	case strings.ContainsAny(s, `/\;%`):
		return "", `a segment holds /, \, ; or % once decoded`
	case !utf8.ValidString(s):
		return "", "it is not UTF-8 once decoded"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", "it holds a control character"
	}
	return s, ""
}
