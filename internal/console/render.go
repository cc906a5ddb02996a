package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/rolegate/rolegate/models"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// assets are the static files by their hashed names
// ("console.3f2a1b9c.css"), so that they can be cached for a year: a new
// file is a new name.
type asset struct {
	data      []byte
	mediaType string
}

var assets, assetNames = loadAssets()

func loadAssets() (map[string]asset, map[string]string) {
	byHash, names := map[string]asset{}, map[string]string{}
	entries, _ := fs.ReadDir(staticFiles, "static")
	for _, e := range entries {
		data, _ := staticFiles.ReadFile("static/" + e.Name())
		ext := path.Ext(e.Name())
		mediaType := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}[ext]
		if mediaType == "" {
			continue // licences stay in the source tree
		}
		sum := sha256.Sum256(data)
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:5]) + ext
		byHash[hashed] = asset{data: data, mediaType: mediaType}
		names[e.Name()] = hashed
	}
	return byHash, names
}

func (c *Console) static(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		c.errorPage(w, r, nil, errNotFound)
		return
	}
	w.Header().Set("Content-Type", a.mediaType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(a.data)
}

// pages are the parsed templates, one set per page, each with the layout.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"asset": func(name string) string { return "/console/static/" + assetNames[name] },
	"time":  timeTag,
	"join":  strings.Join,
	"field": fieldOf,
	"list":  func(s ...string) []string { return s },
	// qs is path with the query q, changed by key-value pairs (an empty
	// value drops the key), without the cursor: a new order or filter
	// starts at the first page.
	"qs": func(path string, q url.Values, kv ...string) template.URL {
		out := url.Values{}
		for k, v := range q {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				out.Del(kv[i])
			} else {
				out.Set(kv[i], kv[i+1])
			}
		}
		out.Del("cursor")
		return template.URL(path + "?" + out.Encode())
	},
}

func mustParsePages() pages {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := pages{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		p[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n))
	}
	return p
}

// timeTag shows t in UTC, marked up so that console.js can show it in the
// viewer's zone, with the UTC value kept as the hover title.
func timeTag(t any) template.HTML {
	var tm time.Time
	switch v := t.(type) {
	case time.Time:
		tm = v
	case *time.Time:
		if v == nil {
			return template.HTML(`<span class="muted">never</span>`)
		}
		tm = *v
	default:
		return ""
	}
	utc := tm.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		utc.Format(time.RFC3339), utc.Format("2006-01-02 15:04:05 UTC"), utc.Format("2006-01-02 15:04 UTC")))
}

// view is what the layout needs, and the page's own data in Page.
type view struct {
	Title   string
	Section string
	Req     *request
	Page    any
}

// Nav lists the sections the viewer may list, in order.
func (v view) Nav() []navItem {
	if v.Req == nil {
		return nil
	}
	var out []navItem
	for _, s := range sections {
		if v.Req.Can(s.resource, s.action) {
			out = append(out, navItem{Name: s.name, Path: s.path, Current: s.name == v.Section})
		}
	}
	return out
}

type navItem struct {
	Name, Path string
	Current    bool
}

// sections are the console's sections and the question that shows each.
// The audit trail and the policy are read whole, so their question is
// read (the API's question for them too).
var sections = []struct{ name, path, resource, action string }{
	{"Users", "/console/users", models.ResourceUsers, models.ActionList},
	{"Tenants", "/console/tenants", models.ResourceTenants, models.ActionList},
	{"Groups", "/console/groups", models.ResourceGroups, models.ActionList},
	{"Policy", "/console/policy", models.ResourcePolicy, models.ActionRead},
	{"Audit", "/console/audit", models.ResourceAudit, models.ActionRead},
}

// render writes page name with data; q is nil on pages without a viewer.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, q *request, data any) {
	var buf bytes.Buffer
	title := map[string]string{"login": "Sign in", "dashboard": "Dashboard", "users": "Users", "user": "User", "bulk": "Confirm",
		"bulkdone": "Results", "policy": "Policy", "explain": "Explain", "audit": "Audit", "history": "History", "error": "Error",
		"tenants": "Tenants", "tenant": "Tenant", "tenanthistory": "History", "groups": "Groups", "group": "Group"}[name]
	section := map[string]string{"users": "Users", "user": "Users", "bulk": "Users", "bulkdone": "Users", "history": "Users",
		"policy": "Policy", "explain": "Policy", "audit": "Audit",
		"tenants": "Tenants", "tenant": "Tenants", "tenanthistory": "Tenants", "groups": "Groups", "group": "Groups"}[name]
	if t, ok := data.(interface{ PageTitle() string }); ok {
		title = t.PageTitle()
	}
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", view{Title: title, Section: section, Req: q, Page: data}); err != nil {
		c.log.ErrorContext(r.Context(), "render console page", "page", name, "err", err)
		http.Error(w, "The page could not be shown. Try again; if it persists, tell an administrator.", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorView struct {
	Status  int
	Heading string
	Message string
	Action  string
	// CSRF is set for a signed-in viewer, for the sign-out button.
	CSRF string
}

var statusOf = map[string]int{
	models.EINVALID: http.StatusBadRequest, models.EUNAUTHORIZED: http.StatusUnauthorized, models.EFORBIDDEN: http.StatusForbidden,
	models.ENOTFOUND: http.StatusNotFound, models.ECONFLICT: http.StatusConflict, models.ETOOLARGE: http.StatusRequestEntityTooLarge,
	models.ETHROTTLED: http.StatusTooManyRequests, models.EUNAVAILABLE: http.StatusServiceUnavailable,
}

// errorPage shows err: what happened and what to do, never a stack or an
// internal message, which only the log gets.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, q *request, err error) {
	e := models.AsError(err)
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	v := errorView{Status: status, Heading: http.StatusText(status), Message: e.Message}
	switch {
	case status >= 500:
		c.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "err", err)
		v.Message = "The server could not finish this request. Nothing was lost; try again in a moment, and tell an administrator if it keeps happening."
	case e.Code == models.EFORBIDDEN:
		v.Action = "If you need this, ask an administrator to change the policy."
	case e.Code == models.EUNAUTHORIZED:
		v.Action = "Sign in again."
	}
	if q != nil {
		v.CSRF = q.csrf
	}
	if q != nil && e != errNoAccess && e != errCSRF {
		c.render(w, r, status, "error", q, v)
		return
	}
	c.render(w, r, status, "error", nil, v)
}
