package importer

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rolegate/rolegate/models"
)

// djangoEntry is one object of a dumpdata fixture.
type djangoEntry struct {
	Model  string          `json:"model"`
	PK     *int64          `json:"pk"`
	Fields json.RawMessage `json:"fields"`
}

// djangoFields are the fields of Django's AbstractUser that rolegate
// keeps, the seed's role, and the user's groups. Others
// (user_permissions, fields of custom user models) are ignored.
type djangoFields struct {
	Password    string  `json:"password"`
	LastLogin   *string `json:"last_login"`
	IsSuperuser bool    `json:"is_superuser"`
	IsStaff     bool    `json:"is_staff"`
	Username    string  `json:"username"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Email       string  `json:"email"`
	IsActive    *bool   `json:"is_active"`
	DateJoined  string  `json:"date_joined"`
	Role        string  `json:"role"`
	Groups      []Key   `json:"groups"`
}

// isUserModel accepts the seed's accounts.CustomUser, Django's auth.User,
// and custom user models named like them in other apps. Django writes
// model labels in lower case.
func isUserModel(label string) bool {
	return strings.HasSuffix(label, ".customuser") || strings.HasSuffix(label, ".user")
}

// addDjango reads entry n of a dumpdata fixture into f: a user, or one of
// the tenant layer's objects of seed 003's ProjectMeats (a tenant, a
// membership, a group). An entry of any other model is kept as a user row
// with its Problem.
func (f *File) addDjango(n int, raw json.RawMessage) {
	ref := fmt.Sprintf("row %d", n)
	var e djangoEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		f.Rows = append(f.Rows, Row{Ref: ref, Problem: fmt.Sprintf("cannot read the entry: %v", err), entry: n})
		return
	}
	if e.PK != nil {
		ref += fmt.Sprintf(" (pk %d)", *e.PK)
	}
	label := strings.ToLower(e.Model)
	switch {
	case strings.HasSuffix(label, ".tenant"):
		f.Tenants = append(f.Tenants, djangoTenant(n, ref, e))
	case strings.HasSuffix(label, ".tenantuser"):
		f.Members = append(f.Members, djangoMember(n, ref, e))
	case label == "auth.group":
		f.Groups = append(f.Groups, djangoGroup(n, ref, e))
	default:
		f.Rows = append(f.Rows, djangoRow(n, ref, e))
	}
}

// missingPK is the problem of an entry exported with --natural-primary.
const missingPK = "pk: missing; export without --natural-primary"

// djangoRow reads a user entry.
func djangoRow(n int, ref string, e djangoEntry) Row {
	row := Row{Ref: ref, entry: n}
	if !isUserModel(strings.ToLower(e.Model)) {
		row.Problem = fmt.Sprintf("model %q is not one this import reads (a user model, tenants.tenant, tenants.tenantuser, auth.group)", e.Model)
		return row
	}
	if e.PK == nil {
		row.Problem = missingPK
		return row
	}
	var f djangoFields
	if err := json.Unmarshal(e.Fields, &f); err != nil {
		row.Problem = fmt.Sprintf("cannot read the fields: %v", err)
		return row
	}
	row.User, row.Problem = djangoUser(*e.PK, f)
	row.Superuser, row.Staff, row.Groups = f.IsSuperuser, f.IsStaff, f.Groups
	return row
}

func djangoUser(pk int64, f djangoFields) (models.User, string) {
	u := models.User{
		ID: pk, Username: f.Username, Email: f.Email, FirstName: f.FirstName, LastName: f.LastName,
		Role: f.Role, IsActive: f.IsActive == nil || *f.IsActive, PasswordHash: f.Password,
	}
	var problems []string
	if f.DateJoined != "" {
		t, err := parseTime(f.DateJoined)
		if err != nil {
			problems = append(problems, "date_joined: "+err.Error())
		}
		u.DateJoined = t
	}
	if f.LastLogin != nil && *f.LastLogin != "" {
		t, err := parseTime(*f.LastLogin)
		if err != nil {
			problems = append(problems, "last_login: "+err.Error())
		}
		u.LastLogin = &t
	}
	return u, strings.Join(problems, "; ")
}

// djangoTenant reads a tenants.tenant entry: Tenant(name, slug,
// is_active, created_at).
func djangoTenant(n int, ref string, e djangoEntry) TenantRow {
	row := TenantRow{Ref: ref, entry: n}
	var f struct {
		Name      string `json:"name"`
		Slug      string `json:"slug"`
		IsActive  *bool  `json:"is_active"`
		CreatedAt string `json:"created_at"`
	}
	if e.PK == nil {
		row.Problem = missingPK
		return row
	}
	if err := json.Unmarshal(e.Fields, &f); err != nil {
		row.Problem = fmt.Sprintf("cannot read the fields: %v", err)
		return row
	}
	row.Tenant = models.Tenant{ID: *e.PK, Slug: f.Slug, Name: f.Name, IsActive: f.IsActive == nil || *f.IsActive}
	row.Tenant.CreatedAt, row.Problem = optionalTime("created_at", f.CreatedAt)
	return row
}

// djangoMember reads a tenants.tenantuser entry: TenantUser(tenant, user,
// role, is_active, created_at).
func djangoMember(n int, ref string, e djangoEntry) MemberRow {
	row := MemberRow{Ref: ref, entry: n}
	var f struct {
		Tenant    *Key   `json:"tenant"`
		User      *Key   `json:"user"`
		Role      string `json:"role"`
		IsActive  *bool  `json:"is_active"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(e.Fields, &f); err != nil {
		row.Problem = fmt.Sprintf("cannot read the fields: %v", err)
		return row
	}
	var problems []string
	if f.Tenant == nil {
		problems = append(problems, "tenant: missing")
	} else {
		row.Tenant = *f.Tenant
	}
	if f.User == nil {
		problems = append(problems, "user: missing")
	} else {
		row.User = *f.User
	}
	row.Role, row.IsActive = f.Role, f.IsActive == nil || *f.IsActive
	var p string
	if row.CreatedAt, p = optionalTime("created_at", f.CreatedAt); p != "" {
		problems = append(problems, p)
	}
	row.Problem = strings.Join(problems, "; ")
	return row
}

// djangoGroup reads an auth.group entry: Group(name, permissions).
func djangoGroup(n int, ref string, e djangoEntry) GroupRow {
	row := GroupRow{Ref: ref, entry: n}
	var f struct {
		Name        string       `json:"name"`
		Permissions []Permission `json:"permissions"`
	}
	if err := json.Unmarshal(e.Fields, &f); err != nil {
		row.Problem = fmt.Sprintf("cannot read the fields: %v", err)
		return row
	}
	if e.PK != nil {
		row.PK = *e.PK
	}
	row.Name, row.Permissions = f.Name, f.Permissions
	if f.Name == "" {
		row.Problem = "name: missing"
	}
	return row
}

// optionalTime parses s, a timestamp named field; "" is the zero time,
// which the import replaces with its own time.
func optionalTime(field, s string) (time.Time, string) {
	if s == "" {
		return time.Time{}, ""
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, field + ": " + err.Error()
	}
	return t, ""
}
