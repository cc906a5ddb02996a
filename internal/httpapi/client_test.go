package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// obj is a JSON object to send.
type obj = map[string]any

// response is what the server answered.
type response struct {
	What   string // method and path, for messages
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request to e's server and checks what every response must
// be. token "" sends no Authorization header. body is nil for none, a
// string for raw text sent as JSON, or a value to marshal.
func (e *env) do(t *testing.T, method, path, token string, body any) *response {
	t.Helper()
	req, err := e.newRequest(method, path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return e.send(t, req, body)
}

func (e *env) newRequest(method, path, token string, body any) (*http.Request, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// send sends req, which carries sent, and checks the response.
func (e *env) send(t *testing.T, req *http.Request, sent any) *response {
	t.Helper()
	r, err := e.roundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, r, sent)
	return r
}

// roundTrip sends req without checking the answer; it is safe to call from
// any goroutine.
func (e *env) roundTrip(req *http.Request) (*response, error) {
	res, err := e.ts.Client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL.Path, err)
	}
	return &response{What: req.Method + " " + req.URL.RequestURI(), Status: res.StatusCode, Header: res.Header, Body: body}, nil
}

// checkResponse checks what is true of every response: no 5xx, a JSON body
// (or none for 204), no password hash and no password, and for 401 the
// Bearer challenge and a body with detail and code.
func checkResponse(t *testing.T, r *response, sent any) {
	t.Helper()
	if r.Status >= 500 {
		t.Errorf("%s: got status %d, want no 5xx; body %s", r.What, r.Status, r.Body)
	}
	if r.Status == http.StatusNoContent {
		if len(r.Body) != 0 {
			t.Errorf("%s: got body %q with 204, want none", r.What, r.Body)
		}
	} else {
		if got := r.Header.Get("Content-Type"); got != jsonType {
			t.Errorf("%s: got Content-Type %q, want %q", r.What, got, jsonType)
		}
		if !json.Valid(r.Body) {
			t.Errorf("%s: got body %q, want JSON", r.What, r.Body)
		}
	}
	checkSecurityHeaders(t, r)
	if bytes.Contains(r.Body, []byte("$argon2id$")) {
		t.Errorf("%s: got body %s, want no password hash", r.What, r.Body)
	}
	if bytes.Contains(r.Body, []byte(pwMarker)) {
		t.Errorf("%s: got body %s, want no password", r.What, r.Body)
	}
	for _, p := range passwordsIn(sent) {
		if bytes.Contains(r.Body, []byte(p)) {
			t.Errorf("%s: got body %s, want the password %q not echoed", r.What, r.Body, p)
		}
	}
	if r.Status == http.StatusUnauthorized {
		checkUnauthorized(t, r)
	}
}

// securityHeaders are the headers every response carries, errors included
// (ASVS V14.4): none of them depends on the route, the status or the caller.
var securityHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Cache-Control":           "no-store",
	"Referrer-Policy":         "no-referrer",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

func checkSecurityHeaders(t *testing.T, r *response) {
	t.Helper()
	for name, want := range securityHeaders {
		if name == "Cache-Control" && strings.HasPrefix(r.What, "GET /.well-known/jwks.json") {
			want = "public, max-age=300" // public keys only: caches may keep them for auth.JWKSMaxAge
		}
		if got := r.Header.Get(name); got != want {
			t.Errorf("%s: got %s %q, want %q", r.What, name, got, want)
		}
	}
	for _, name := range []string{"Server", "X-Powered-By"} {
		if got := r.Header.Get(name); got != "" {
			t.Errorf("%s: got %s %q, want no such header (no server version is leaked)", r.What, name, got)
		}
	}
}

func checkUnauthorized(t *testing.T, r *response) {
	t.Helper()
	if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("%s: got WWW-Authenticate %q with 401, want a Bearer challenge", r.What, got)
	}
	var body struct {
		Detail *string `json:"detail"`
		Code   *string `json:"code"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Detail == nil || *body.Detail == "" || body.Code == nil || *body.Code == "" {
		t.Errorf("%s: got 401 body %s, want detail and code", r.What, r.Body)
	}
}

// passwordsIn returns the non-empty values of sent's password fields.
func passwordsIn(sent any) []string {
	m, ok := sent.(obj)
	if !ok {
		return nil
	}
	var out []string
	for k, v := range m {
		if s, ok := v.(string); ok && s != "" && strings.Contains(k, "password") {
			out = append(out, s)
		}
	}
	return out
}

// decode unmarshals the body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: got body %q, want JSON: %v", r.What, r.Body, err)
	}
}

// object returns the body as a JSON object.
func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

func wantStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: got status %d, want %d; body %s", r.What, r.Status, want, r.Body)
	}
}

// wantBody checks that the body is exactly the JSON of want.
func wantBody(t *testing.T, r *response, want any) {
	t.Helper()
	var got, norm any
	r.decode(t, &got)
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &norm); err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(got, norm) {
		t.Errorf("%s: got body %s, want %s", r.What, r.Body, data)
	}
}

func jsonEqual(a, b any) bool {
	da, _ := json.Marshal(a)
	db, _ := json.Marshal(b)
	return bytes.Equal(da, db) // encoding/json sorts map keys
}

// wantFieldError checks for a 400 whose body names field with at least one
// message.
func wantFieldError(t *testing.T, r *response, field string) {
	t.Helper()
	wantStatus(t, r, http.StatusBadRequest)
	var body map[string]any
	r.decode(t, &body)
	msgs, ok := body[field].([]any)
	if !ok || len(msgs) == 0 {
		t.Fatalf("%s: got body %s, want {%q: [messages]}", r.What, r.Body, field)
	}
	for _, m := range msgs {
		if s, ok := m.(string); !ok || s == "" {
			t.Errorf("%s: got %q messages %v, want non-empty strings", r.What, field, msgs)
		}
	}
}

// The bodies of refusals.
var (
	notAuthenticated = obj{"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}
	badCredentials   = obj{"detail": "No active account found with the given credentials", "code": "no_active_account"}
	tokenNotValid    = "token_not_valid"
)

// wantDenied checks the refusal a role gets for something the policy does
// not grant it: 401 without a token, 403 with one.
func wantDenied(t *testing.T, r *response, role string) {
	t.Helper()
	if role == roleAnonymous {
		wantStatus(t, r, http.StatusUnauthorized)
		wantBody(t, r, notAuthenticated)
		return
	}
	wantForbidden(t, r)
}

// wantForbidden checks a policy deny.
func wantForbidden(t *testing.T, r *response) {
	t.Helper()
	wantStatus(t, r, http.StatusForbidden)
	body := r.object(t)
	if body["detail"] != "You do not have permission to perform this action." || body["code"] != "permission_denied" {
		t.Errorf("%s: got body %s, want the permission_denied detail and code", r.What, r.Body)
	}
}

// wantTokenRefused checks a 401 for a bad token.
func wantTokenRefused(t *testing.T, r *response) {
	t.Helper()
	wantStatus(t, r, http.StatusUnauthorized)
	if got := r.object(t)["code"]; got != tokenNotValid {
		t.Errorf("%s: got code %v, want %q; body %s", r.What, got, tokenNotValid, r.Body)
	}
}

// userJSON is the body a client sees for u.
func userJSON(u *models.User) obj {
	var last any
	if u.LastLogin != nil {
		last = *u.LastLogin
	}
	return obj{
		"id": u.ID, "username": u.Username, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"role": u.Role, "is_active": u.IsActive, "date_joined": u.DateJoined, "last_login": last,
	}
}

// wantUser checks that got, a decoded user object, shows the stored u.
func wantUser(t *testing.T, what string, got any, u *models.User) {
	t.Helper()
	m, ok := got.(map[string]any)
	if !ok {
		t.Fatalf("%s: got user %v, want an object", what, got)
	}
	want := userJSON(u)
	if len(m) != len(want) {
		t.Errorf("%s: got user fields %v, want exactly %d fields", what, keys(m), len(want))
	}
	for k, w := range want {
		g, ok := m[k]
		if !ok {
			t.Errorf("%s: got no %q in user %v, want %v", what, k, m, w)
			continue
		}
		if !sameJSONValue(g, w) {
			t.Errorf("%s: got %s %v, want %v", what, k, g, w)
		}
	}
}

// sameJSONValue compares a decoded JSON value with a Go value, times by
// instant.
func sameJSONValue(got, want any) bool {
	if w, ok := want.(time.Time); ok {
		s, ok := got.(string)
		if !ok {
			return false
		}
		g, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && g.Equal(w)
	}
	return jsonEqual(got, want)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
