package importer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rolegate/rolegate/models"
)

// djangoEntry is one object of a dumpdata fixture.
type djangoEntry struct {
	Model  string       `json:"model"`
	PK     *int64       `json:"pk"`
	Fields djangoFields `json:"fields"`
}

// djangoFields are the fields of Django's AbstractUser that rolegate
// keeps, and the seed's role. Others (is_staff, groups, user_permissions,
// fields of custom user models) are ignored.
type djangoFields struct {
	Password    string  `json:"password"`
	LastLogin   *string `json:"last_login"`
	IsSuperuser bool    `json:"is_superuser"`
	Username    string  `json:"username"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Email       string  `json:"email"`
	IsActive    *bool   `json:"is_active"`
	DateJoined  string  `json:"date_joined"`
	Role        string  `json:"role"`
}

// isUserModel accepts the seed's accounts.CustomUser, Django's auth.User,
// and custom user models named like them in other apps. Django writes
// model labels in lower case.
func isUserModel(label string) bool {
	label = strings.ToLower(label)
	return strings.HasSuffix(label, ".customuser") || strings.HasSuffix(label, ".user")
}

// djangoRow reads entry n of a dumpdata fixture.
func djangoRow(n int, raw json.RawMessage) Row {
	row := Row{Ref: fmt.Sprintf("row %d", n)}
	var e djangoEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		row.Problem = fmt.Sprintf("cannot read the entry: %v", err)
		return row
	}
	if e.PK != nil {
		row.Ref += fmt.Sprintf(" (pk %d)", *e.PK)
	}
	switch {
	case !isUserModel(e.Model):
		row.Problem = fmt.Sprintf("model %q is not a user model", e.Model)
	case e.PK == nil:
		row.Problem = "pk: missing; export without --natural-primary"
	default:
		row.User, row.Problem = djangoUser(*e.PK, e.Fields)
		row.Superuser = e.Fields.IsSuperuser
	}
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
