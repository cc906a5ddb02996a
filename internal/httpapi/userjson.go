package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// userJSON is a user as clients see it: the seed's fields and more, never
// the password hash or the token epoch.
type userJSON struct {
	ID         int64      `json:"id"`
	Username   string     `json:"username"`
	Email      string     `json:"email"`
	FirstName  string     `json:"first_name"`
	LastName   string     `json:"last_name"`
	Role       string     `json:"role"`
	IsActive   bool       `json:"is_active"`
	DateJoined time.Time  `json:"date_joined"`
	LastLogin  *time.Time `json:"last_login"`
}

func toJSON(u *models.User) userJSON {
	return userJSON{
		ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Role: u.Role, IsActive: u.IsActive, DateJoined: u.DateJoined, LastLogin: u.LastLogin,
	}
}

// profileFields are the attributes a user may edit on their own profile.
type profileFields struct {
	Username  *string `json:"username"`
	Email     *string `json:"email"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	// Role is accepted so that a profile can be sent back as it was read;
	// changing it is the assign_role action.
	Role *string `json:"role"`
}

// accessFields are the attributes guarded by the assign_role action.
type accessFields struct {
	IsActive *bool `json:"is_active"`
}

// readOnlyFields may be echoed back from a GET and are ignored, as DRF
// ignores read-only fields.
type readOnlyFields struct {
	ID         json.RawMessage `json:"id"`
	DateJoined json.RawMessage `json:"date_joined"`
	LastLogin  json.RawMessage `json:"last_login"`
}

type signupInput struct {
	profileFields
	Password *string `json:"password"`
}

type createInput struct {
	profileFields
	accessFields
	Password *string `json:"password"`
}

type updateInput struct {
	profileFields
	accessFields
	readOnlyFields
}

// patchOf validates profile and access fields into a patch, adding any
// problems to f. Text fields are trimmed of surrounding whitespace, as DRF
// does; usernames are normalized.
func patchOf(f fieldErrors, pol *authz.Policy, p profileFields, a accessFields) models.UserPatch {
	patch := models.UserPatch{
		Username: trimmed(p.Username), Email: trimmed(p.Email), FirstName: trimmed(p.FirstName), LastName: trimmed(p.LastName),
		Role: p.Role, IsActive: a.IsActive,
	}
	if patch.Username != nil {
		*patch.Username = account.NormalizeUsername(*patch.Username)
	}
	f.merge(models.FieldsOf(account.Validate(patch)))
	if p.Role != nil && !pol.HasRole(*p.Role) {
		f.add("role", fmt.Sprintf("%q is not a valid choice.", *p.Role))
	}
	return patch
}

// trimmed is a copy of *v without surrounding whitespace, or nil.
func trimmed(v *string) *string {
	if v == nil {
		return nil
	}
	s := strings.TrimSpace(*v)
	return &s
}

// required adds "This field is required." for each missing or empty field.
func required(f fieldErrors, fields map[string]*string) {
	for name, v := range fields {
		if v == nil {
			f.add(name, "This field is required.")
		} else if *v == "" && len(f[name]) == 0 {
			f.add(name, "This field may not be blank.")
		}
	}
}

// requireFields is required for a body that has nothing else to check:
// EINVALID naming each missing or empty field, or nil.
func requireFields(fields map[string]*string) error {
	f := fieldErrors{}
	required(f, fields)
	return f.err()
}

// newUser builds a user from a validated patch.
func newUser(patch models.UserPatch, hash string) *models.User {
	u := &models.User{IsActive: true, PasswordHash: hash}
	patch.Apply(u)
	return u
}
