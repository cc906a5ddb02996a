package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
)

const allowedOrigin = "https://app.example.com"

// withOrigin sends method path from origin, with the preflight's headers
// when preflight is set, and checks the response like any other.
func (e *env) withOrigin(t *testing.T, method, path, origin string, preflight bool) *response {
	t.Helper()
	req, err := e.newRequest(method, path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if preflight {
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	}
	return e.send(t, req, nil)
}

// wantNoCORS checks that r grants nothing to any origin.
func wantNoCORS(t *testing.T, r *response) {
	t.Helper()
	for k := range r.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("%s: got %s: %q, want no CORS header", r.What, k, r.Header.Values(k))
		}
	}
}

func wantVaryOrigin(t *testing.T, r *response) {
	t.Helper()
	if !slices.Contains(r.Header.Values("Vary"), "Origin") {
		t.Errorf("%s: got Vary %q, want Origin", r.What, r.Header.Values("Vary"))
	}
}

func TestCORSOffByDefault(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		wantNoCORS(t, e.withOrigin(t, http.MethodGet, "/healthz", allowedOrigin, false))
		r := e.withOrigin(t, http.MethodOptions, "/v1/auth/login", allowedOrigin, true)
		wantStatus(t, r, http.StatusMethodNotAllowed)
		wantNoCORS(t, r)
	})
}

func TestCORSAllowsListedOrigins(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = freshEnvWith(t, e, shippedPolicy, map[string]string{"ROLEGATE_CORS_ORIGINS": allowedOrigin + ",http://localhost:3000"})
		for _, origin := range []string{allowedOrigin, "http://localhost:3000"} {
			r := e.withOrigin(t, http.MethodGet, "/healthz", origin, false)
			wantStatus(t, r, http.StatusOK)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, origin)
			}
			if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials: got %q, want none (tokens are not cookies)", got)
			}
			wantVaryOrigin(t, r)

			p := e.withOrigin(t, http.MethodOptions, "/v1/auth/login", origin, true)
			wantStatus(t, p, http.StatusNoContent)
			wantVaryOrigin(t, p)
			if got := p.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("preflight Access-Control-Allow-Origin: got %q, want %q", got, origin)
			}
			methods, headers := p.Header.Get("Access-Control-Allow-Methods"), strings.ToLower(p.Header.Get("Access-Control-Allow-Headers"))
			if !strings.Contains(methods, "POST") || !strings.Contains(methods, "DELETE") {
				t.Errorf("preflight Access-Control-Allow-Methods: got %q, want the API's methods", methods)
			}
			if !strings.Contains(headers, "authorization") || !strings.Contains(headers, "content-type") {
				t.Errorf("preflight Access-Control-Allow-Headers: got %q, want Authorization and Content-Type", headers)
			}
		}
		// A real cross-origin call with a token works and is readable.
		u := e.newUser(t, roleUser)
		req, err := e.newRequest(http.MethodGet, "/v1/me", u.Access, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", allowedOrigin)
		r := e.send(t, req, nil)
		wantStatus(t, r, http.StatusOK)
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			t.Errorf("GET /v1/me: got Access-Control-Allow-Origin %q, want %q", got, allowedOrigin)
		}
	})
}

// Only exact listed origins: not a look-alike, another scheme or port, a
// subdomain, "null" (sandboxed frames, local files), or no Origin at all.
func TestCORSRefusesOtherOrigins(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = freshEnvWith(t, e, shippedPolicy, map[string]string{"ROLEGATE_CORS_ORIGINS": allowedOrigin})
		for _, origin := range []string{"https://evil.example.com", "http://app.example.com", "https://app.example.com:8443",
			"https://app.example.com.evil.com", "https://sub.app.example.com", "https://APP.example.com", "null", "*", ""} {
			r := e.withOrigin(t, http.MethodGet, "/healthz", origin, false)
			wantStatus(t, r, http.StatusOK)
			wantNoCORS(t, r)
			wantVaryOrigin(t, r)
			p := e.withOrigin(t, http.MethodOptions, "/v1/auth/login", origin, true)
			wantStatus(t, p, http.StatusMethodNotAllowed)
			wantNoCORS(t, p)
		}
	})
}

func TestCORSWildcardIsRefusedAtStartup(t *testing.T) {
	for _, target := range dbtest.Targets(t)[:1] {
		for _, origins := range []string{"*", allowedOrigin + ",*", "null"} {
			_, err := startEnvWith(target, t.TempDir(), shippedPolicy, map[string]string{"ROLEGATE_CORS_ORIGINS": origins})
			if err == nil || !strings.Contains(err.Error(), "ROLEGATE_CORS_ORIGINS") {
				t.Errorf("ROLEGATE_CORS_ORIGINS=%s: got %v, want the server refused with an error naming the setting", origins, err)
			}
		}
	}
}
