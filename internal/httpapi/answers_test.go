package httpapi

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

var updateAnswers = flag.Bool("update-answers", false, "rewrite testdata/answers.golden from the API's answers")

const answersFile = "testdata/answers.golden"

// TestAnswersStayTheSame sends the API one request down each way a handler
// or middleware answers, errors above all, and compares every status,
// header and body, byte for byte, with testdata/answers.golden. The
// dependencies are fakes that answer each request the same way every run,
// so the file changes only when what a client sees changes: a refactoring
// of the handlers must leave it as it is.
func TestAnswersStayTheSame(t *testing.T) {
	src, err := authz.FileLoader{ModelFile: "../../policy/model.conf", PolicyFile: "../../policy/policy.csv", RoutesFile: "../../policy/routes.csv"}.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pol, err := authz.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	api := NewHandler(Deps{
		Users: answerUsers{}, Auth: answerAuth{}, Policies: answerPolicies{pol},
		Throttle: answerThrottle{}, DefaultRole: "user",
	})
	var got strings.Builder
	for _, a := range answerCases {
		req := httptest.NewRequest(a.method, a.path, strings.NewReader(a.body))
		req.Header.Set(RequestIDHeader, "answers")
		if a.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range a.headers {
			req.Header.Set(k, v)
		}
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		fmt.Fprintf(&got, "### %s %s %s\n%d\n", a.method, a.path, a.what, w.Code)
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range w.Header() {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(&got, "%s: %s\n", k, strings.Join(w.Header()[k], ", "))
		}
		fmt.Fprintf(&got, "\n%s\n\n", w.Body)
	}
	text := strings.ReplaceAll(got.String(), pol.Version(), "{policy version}")
	if *updateAnswers {
		if err := os.WriteFile(answersFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(answersFile)
	if err != nil {
		t.Fatal(err)
	}
	if text != string(want) {
		gotCases, wantCases := strings.Split(text, "### "), strings.Split(string(want), "### ")
		for i := range min(len(gotCases), len(wantCases)) {
			if gotCases[i] != wantCases[i] {
				t.Errorf("answer %d:\ngot:\n%s\nwant:\n%s", i, gotCases[i], wantCases[i])
			}
		}
		if len(gotCases) != len(wantCases) {
			t.Errorf("got %d answers, want %d", len(gotCases)-1, len(wantCases)-1)
		}
	}
}

// answerCase is one request of TestAnswersStayTheSame. token is the
// Bearer token: "admin" and "user" are the two accounts of answerAuth.
type answerCase struct {
	what, method, path, token, body string
	headers                         map[string]string
}

var answerCases = []answerCase{
	{what: "unknown path", method: "GET", path: "/nope"},
	{what: "wrong method", method: "BREW", path: "/healthz"},
	{what: "wrong method on a route", method: "DELETE", path: "/v1/auth/login", token: "admin"},
	{what: "health", method: "GET", path: "/healthz"},
	{what: "readiness with the database down", method: "GET", path: "/readyz"},
	{what: "no token", method: "GET", path: "/me/"},
	{what: "two-part token", method: "GET", path: "/me/", headers: map[string]string{"Authorization": "Bearer a b"}},
	{what: "bad token", method: "GET", path: "/me/", token: "forged"},
	{what: "token check unavailable", method: "GET", path: "/me/", token: "down"},
	{what: "own profile", method: "GET", path: "/me/", token: "user"},
	{what: "area the policy denies", method: "GET", path: "/admin-area/", token: "user"},
	{what: "area the policy allows", method: "GET", path: "/user-area/", token: "user"},
	{what: "id that is not a number", method: "GET", path: "/v1/users/abc", token: "admin"},
	{what: "id of nobody", method: "GET", path: "/v1/users/99", token: "admin"},
	{what: "another user's profile", method: "GET", path: "/v1/users/1", token: "user"},
	{what: "a profile", method: "GET", path: "/v1/users/7", token: "admin"},
	{what: "list denied", method: "GET", path: "/v1/users", token: "user"},
	{what: "bad list parameters", method: "GET", path: "/v1/users?limit=0&is_active=maybe&cursor=x", token: "admin"},
	{what: "list with the database down", method: "GET", path: "/v1/users?search=down", token: "admin"},
	{what: "list failing inside", method: "GET", path: "/v1/users?search=bug", token: "admin"},
	{what: "list panicking", method: "GET", path: "/v1/users?search=panic", token: "admin"},
	{what: "list", method: "GET", path: "/v1/users?limit=1", token: "admin"},
	{what: "create denied", method: "POST", path: "/v1/users", token: "user", body: `{}`},
	{what: "create, not JSON", method: "POST", path: "/v1/users", token: "admin", body: `x`, headers: map[string]string{"Content-Type": "text/plain"}},
	{what: "create, unknown key", method: "POST", path: "/v1/users", token: "admin", body: `{"nick":"a"}`},
	{what: "create, bad fields", method: "POST", path: "/v1/users", token: "admin",
		body: `{"username":"a b","email":"nope","first_name":"Ann\u202e","last_name":"x","role":"czar","password":"short"}`},
	{what: "create, missing fields", method: "POST", path: "/v1/users", token: "admin", body: `{"email":"ann@example.com"}`},
	{what: "create, blank fields", method: "POST", path: "/v1/users", token: "admin", body: `{"username":"  ","password":""}`},
	{what: "create, taken username", method: "POST", path: "/v1/users", token: "admin", body: `{"username":"taken","password":"long enough"}`},
	{what: "create", method: "POST", path: "/v1/users", token: "admin", body: `{"username":" Zoë ","password":"long enough","role":"staff"}`},
	{what: "signup, bad fields", method: "POST", path: "/signup/", body: `{"username":"ann","password":"short","email":"x@"}`},
	{what: "signup asking for a role", method: "POST", path: "/signup/", body: `{"username":"ann","password":"long enough","role":"admin"}`},
	{what: "signup", method: "POST", path: "/signup/", body: `{"username":"ann","password":"long enough"}`},
	{what: "signup, too large", method: "POST", path: "/signup/", body: `{"username":"` + strings.Repeat("a", MaxBodyBytes) + `"}`},
	{what: "update, bad fields", method: "PATCH", path: "/v1/users/7", token: "admin", body: `{"email":"nope","last_name":"\u2066"}`},
	{what: "update of own role", method: "PATCH", path: "/me/", token: "user", body: `{"role":"admin"}`},
	{what: "update, null", method: "PUT", path: "/v1/me", token: "user", body: `{"first_name":null}`},
	{what: "update", method: "PATCH", path: "/v1/me", token: "user", body: `{"first_name":" Ann "}`},
	{what: "rename of oneself", method: "PATCH", path: "/v1/me", token: "user", body: `{"username":"anna"}`},
	{what: "rename", method: "PATCH", path: "/v1/users/7", token: "admin", body: `{"username":"anna","is_active":false}`},
	{what: "update of nobody", method: "PATCH", path: "/v1/users/99", token: "admin", body: `{}`},
	{what: "delete the last admin", method: "DELETE", path: "/v1/users/1", token: "admin"},
	{what: "delete", method: "DELETE", path: "/v1/users/7", token: "admin"},
	{what: "reset, missing password", method: "POST", path: "/v1/users/7/password", token: "admin", body: `{}`},
	{what: "reset, weak password", method: "POST", path: "/v1/users/7/password", token: "admin", body: `{"new_password":"short"}`},
	{what: "reset", method: "POST", path: "/v1/users/7/password", token: "admin", body: `{"new_password":"long enough"}`},
	{what: "change password, missing", method: "POST", path: "/v1/me/password", token: "user", body: `{"new_password":""}`},
	{what: "change password, wrong old", method: "POST", path: "/v1/me/password", token: "user", body: `{"old_password":"wrong","new_password":"long enough"}`},
	{what: "change password", method: "POST", path: "/v1/me/password", token: "user", body: `{"old_password":"right","new_password":"long enough"}`},
	{what: "login, missing", method: "POST", path: "/login/", body: `{"username":"ann"}`},
	{what: "login, too long", method: "POST", path: "/v1/auth/login", body: `{"username":"ann","password":"` + strings.Repeat("p", 129) + `"}`},
	{what: "login, throttled", method: "POST", path: "/v1/auth/login", body: `{"username":"flood","password":"x"}`},
	{what: "login, wrong password", method: "POST", path: "/v1/auth/login", body: `{"username":"ann","password":"wrong"}`},
	{what: "login", method: "POST", path: "/v1/auth/login", body: `{"username":"ann","password":"right"}`},
	{what: "refresh, missing", method: "POST", path: "/token/refresh/", body: `{}`},
	{what: "refresh, bad JSON", method: "POST", path: "/token/refresh/", body: `{"refresh":`},
	{what: "refresh, spent", method: "POST", path: "/v1/auth/refresh", body: `{"refresh":"spent"}`},
	{what: "refresh", method: "POST", path: "/v1/auth/refresh", body: `{"refresh":"good"}`},
	{what: "logout, bad token", method: "POST", path: "/logout/", body: `{"refresh":"spent"}`},
	{what: "logout", method: "POST", path: "/v1/auth/logout", body: `{"refresh":"good"}`},
	{what: "policy denied", method: "GET", path: "/v1/policy", token: "user"},
	{what: "reload denied", method: "POST", path: "/v1/policy/reload", token: "user"},
	{what: "reload refused", method: "POST", path: "/v1/policy/reload", token: "admin"},
	{what: "check, bad fields", method: "POST", path: "/v1/authz/check", token: "user", body: `{"resource":"","owner_id":0,"subject":{}}`},
	{what: "check about others, denied", method: "POST", path: "/v1/authz/check", token: "user", body: `{"resource":"users","action":"read","subject":{"user_id":1}}`},
	{what: "check about nobody", method: "POST", path: "/v1/authz/check", token: "admin", body: `{"resource":"users","action":"read","subject":{"user_id":99}}`},
	{what: "check", method: "POST", path: "/v1/authz/check", token: "user", body: `{"resource":"users","action":"list"}`},
	{what: "batch, empty", method: "POST", path: "/v1/authz/check/batch", token: "user", body: `{"checks":[]}`},
	{what: "batch, bad items", method: "POST", path: "/v1/authz/check/batch", token: "user", body: `{"checks":[{"resource":"users"},{"action":1}]}`},
	{what: "batch", method: "POST", path: "/v1/authz/check/batch", token: "user", body: `{"checks":[{"resource":"users","action":"read","owner_id":7}]}`},
	{what: "forward, no request", method: "GET", path: "/v1/authz/forward"},
	{what: "forward, two requests", method: "GET", path: "/v1/authz/forward",
		headers: map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/a", "X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/a"}},
	{what: "forward, anonymous", method: "GET", path: "/v1/authz/forward", headers: map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/api/users"}},
	{what: "forward, bad token", method: "GET", path: "/v1/authz/forward", token: "forged", headers: map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/api/users"}},
	{what: "forward, denied", method: "GET", path: "/v1/authz/forward", token: "user", headers: map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/api/users"}},
	{what: "forward, unavailable", method: "GET", path: "/v1/authz/forward", token: "down", headers: map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/api/users"}},
	{what: "forward", method: "GET", path: "/v1/authz/forward", token: "admin", headers: map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/api/users"}},
	{what: "forward, no route", method: "GET", path: "/v1/authz/forward", token: "admin", headers: map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/elsewhere"}},
	{what: "envoy", method: "DELETE", path: EnvoyPath + "/api/users/7", token: "user"},
	{what: "audit denied", method: "GET", path: "/v1/audit", token: "user"},
	{what: "audit, bad parameters", method: "GET", path: "/v1/audit?actor=x&action=nope&since=yesterday", token: "admin"},
	{what: "audit", method: "GET", path: "/v1/audit", token: "admin"},
	{what: "docs asset of nothing", method: "GET", path: "/docs/assets/nope.js"},
	{what: "keys", method: "GET", path: "/.well-known/jwks.json"},
}

var (
	answerTime  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	answerAdmin = &models.User{ID: 1, Username: "root", Role: "admin", IsActive: true, DateJoined: answerTime}
	answerUser  = &models.User{ID: 7, Username: "ann", Email: "ann@example.com", Role: "user", IsActive: true, DateJoined: answerTime, LastLogin: &answerTime}
	errSpent    = &models.Error{Code: models.EUNAUTHORIZED, Reason: "token_not_valid", Message: "Token is invalid or expired"}
	answerPair  = auth.Pair{Access: "access", Refresh: "refresh"}
)

func answerCopy(u *models.User) *models.User { c := *u; return &c }

// answerAuth knows the tokens "admin" and "user"; "down" is a token
// whose check cannot be made.
type answerAuth struct{}

func (answerAuth) Login(_ context.Context, username, password, _ string) (*models.User, auth.Pair, error) {
	if username != "ann" || password != "right" {
		return nil, auth.Pair{}, auth.ErrBadCredentials
	}
	return answerCopy(answerUser), answerPair, nil
}

func (answerAuth) Refresh(_ context.Context, refresh string) (auth.Pair, error) {
	if refresh != "good" {
		return auth.Pair{}, errSpent
	}
	return answerPair, nil
}

func (answerAuth) Logout(_ context.Context, refresh string) error {
	if refresh != "good" {
		return errSpent
	}
	return nil
}

func (answerAuth) Authenticate(_ context.Context, token string) (*models.User, error) {
	switch token {
	case "admin":
		return answerCopy(answerAdmin), nil
	case "user":
		return answerCopy(answerUser), nil
	case "down":
		return nil, models.Unavailable(errors.New("database is down"))
	}
	return nil, errSpent
}

func (answerAuth) ChangePassword(_ context.Context, _ *models.User, oldPassword, _, _ string) (auth.Pair, error) {
	if oldPassword != "right" {
		return auth.Pair{}, auth.ErrWrongOldPassword
	}
	return answerPair, nil
}

func (a answerAuth) SetPassword(_ context.Context, u *models.User, newPassword string, _ models.AdminGuard, _ string) (*models.User, error) {
	if err := a.ValidatePassword("new_password", newPassword, u); err != nil {
		return nil, err
	}
	return u, nil
}

func (answerAuth) ValidatePassword(field, password string, u *models.User) error {
	if len(password) < 8 {
		return &models.Error{Code: models.EINVALID, Message: "invalid input", Fields: map[string][]string{
			field: {"This password is too short.", fmt.Sprintf("It is too much like %s.", u.Username)},
		}}
	}
	return nil
}

func (answerAuth) HashPassword(context.Context, auth.Requester, string) (string, error) {
	return "hash", nil
}

func (answerAuth) JWKS() any { return map[string]any{"keys": []any{}} }

// answerUsers stores users 1 and 7; "down" and "bug" in a search make the
// list fail as a database outage and as a bug, and "panic" panics.
type answerUsers struct{}

func (answerUsers) CreateUser(_ context.Context, u *models.User) (*models.User, error) {
	if u.Username == "taken" {
		return nil, models.FieldError("username", "A user with that username already exists.")
	}
	c := answerCopy(u)
	c.ID, c.DateJoined = 42, answerTime
	return c, nil
}

func (answerUsers) UserByID(_ context.Context, id int64) (*models.User, error) {
	switch id {
	case 1:
		return answerCopy(answerAdmin), nil
	case 7:
		return answerCopy(answerUser), nil
	}
	return nil, errNotFound
}

func (u answerUsers) CurrentUser(ctx context.Context, id int64) (*models.User, error) {
	return u.UserByID(ctx, id)
}

func (answerUsers) ListUsers(_ context.Context, f models.UserFilter) ([]*models.User, error) {
	switch f.Search {
	case "down":
		return nil, models.Unavailable(errors.New("database is down"))
	case "bug":
		return nil, errors.New("a bug")
	case "panic":
		panic("a bigger bug")
	}
	return []*models.User{answerCopy(answerAdmin), answerCopy(answerUser)}, nil
}

func (s answerUsers) UpdateUser(ctx context.Context, id int64, patch models.UserPatch, _ models.AdminGuard, check models.UserCheck) (models.UserChange, error) {
	before, err := s.UserByID(ctx, id)
	if err != nil {
		return models.UserChange{}, err
	}
	if err := check(before, patch); err != nil {
		return models.UserChange{}, err
	}
	after := answerCopy(before)
	patch.Apply(after)
	return models.UserChange{Before: before, After: after}, nil
}

func (answerUsers) DeleteUser(_ context.Context, id int64, _ models.AdminGuard) error {
	if id == 1 {
		return models.Errorf(models.ECONFLICT, "The last active administrator cannot be removed.")
	}
	return nil
}

func (answerUsers) Ping(context.Context) error {
	return models.Unavailable(errors.New("database is down"))
}

// answerPolicies serves one policy; a reload fails with two errors.
type answerPolicies struct{ pol *authz.Policy }

func (p answerPolicies) Current() *authz.Policy { return p.pol }
func (p answerPolicies) Reload(context.Context, string) authz.ReloadResult {
	return authz.ReloadResult{At: answerTime, Trigger: ReloadTrigger, Version: p.pol.Version(), Duration: "1ms", Errors: []authz.LoadError{
		{File: "policy.csv", Line: 3, Reason: "unknown action"},
		{File: "policy_test.csv", Line: 9, Reason: "expected deny"},
	}}
}
func (p answerPolicies) Last() authz.ReloadResult { return authz.ReloadResult{} }
func (p answerPolicies) Origin() authz.Origin     { return authz.Origin{} }

// answerThrottle throttles the logins of the username "flood".
type answerThrottle struct{ noThrottle }

func (answerThrottle) CheckLogin(_ context.Context, username, _ string) error {
	if username == "flood" {
		return models.Throttled(90 * time.Second)
	}
	return nil
}
