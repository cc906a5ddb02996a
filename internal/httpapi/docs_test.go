package httpapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/apidoc"
)

// get fetches path from e's server without the JSON checks of do, for
// the documentation's HTML and scripts.
func (e *env) get(t *testing.T, path string) *response {
	t.Helper()
	req, err := e.newRequest(http.MethodGet, path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.roundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenAPIDocument(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		r := e.do(t, http.MethodGet, "/openapi.json", "", nil)
		wantStatus(t, r, http.StatusOK)
		want, err := apidoc.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Body, want) {
			t.Errorf("GET /openapi.json: got %d bytes, want the %d of apidoc.JSON()", len(r.Body), len(want))
		}
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		r.decode(t, &doc)
		if doc.OpenAPI != "3.1.0" || doc.Paths["/v1/users/{id}"] == nil || doc.Paths["/signup/"] == nil {
			t.Errorf("GET /openapi.json: got openapi %q with %d paths, want 3.1.0 with the user and seed paths", doc.OpenAPI, len(doc.Paths))
		}
	})
}

func TestDocsPage(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, path := range []string{"/docs", "/docs/"} {
			r := e.get(t, path)
			wantStatus(t, r, http.StatusOK)
			wantDocsHeaders(t, r, "text/html; charset=utf-8")
			if !bytes.Contains(r.Body, []byte(`<redoc spec-url="/openapi.json"`)) ||
				!bytes.Contains(r.Body, []byte(`<script src="/docs/assets/redoc.standalone.js">`)) {
				t.Errorf("GET %s: got body %s, want the Redoc element and its script", path, r.Body)
			}
			if bytes.Contains(r.Body, []byte("<script>")) {
				t.Errorf("GET %s: got an inline script, want none (the CSP forbids it)", path)
			}
		}
	})
}

func TestDocsAssets(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		r := e.get(t, "/docs/assets/redoc.standalone.js")
		wantStatus(t, r, http.StatusOK)
		wantDocsHeaders(t, r, "text/javascript; charset=utf-8")
		if want, _, _ := apidoc.Asset("redoc.standalone.js"); !bytes.Equal(r.Body, want) {
			t.Errorf("GET the Redoc bundle: got %d bytes, want the embedded %d", len(r.Body), len(want))
		}
		if strings.Contains(string(r.Body), "cdn.redoc.ly") {
			t.Errorf("GET the Redoc bundle: got a reference to cdn.redoc.ly, want the vendor.sh patch")
		}
		r = e.get(t, "/docs/assets/redoc.standalone.js.LICENSE.txt")
		wantStatus(t, r, http.StatusOK)
		if got := r.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("GET the bundle's notices: got Content-Type %q, want text/plain", got)
		}
		for _, path := range []string{"/docs/assets/docs.html", "/docs/assets/nope.js", "/docs/assets/..%2fapidoc.go"} {
			r := e.do(t, http.MethodGet, path, "", nil)
			wantStatus(t, r, http.StatusNotFound)
			wantBody(t, r, obj{"detail": "Not found.", "code": "not_found"})
		}
	})
}

// wantDocsHeaders checks the documentation's own headers: its media type,
// and a CSP that lets in this server's scripts, and only those.
func wantDocsHeaders(t *testing.T, r *response, mediaType string) {
	t.Helper()
	if got := r.Header.Get("Content-Type"); got != mediaType {
		t.Errorf("%s: got Content-Type %q, want %q", r.What, got, mediaType)
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: got Content-Security-Policy %q, want it to hold %q", r.What, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") || strings.Contains(csp, "*") {
		t.Errorf("%s: got Content-Security-Policy %q, want no eval, inline script or wildcard", r.What, csp)
	}
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: got X-Content-Type-Options %q, want nosniff", r.What, got)
	}
}

// TestJSONResponsesKeepTheStrictCSP checks that the documentation's CSP
// stays on its own responses.
func TestJSONResponsesKeepTheStrictCSP(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, path := range []string{"/openapi.json", "/healthz", "/docs/assets/nope.js"} {
			r := e.get(t, path)
			if got, want := r.Header.Get("Content-Security-Policy"), "default-src 'none'; frame-ancestors 'none'"; got != want {
				t.Errorf("%s: got Content-Security-Policy %q, want %q", r.What, got, want)
			}
		}
	})
}
