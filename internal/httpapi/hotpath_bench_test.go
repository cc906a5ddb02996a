package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// BenchmarkHotRoutes measures what the API's own code (the middleware, the
// route's handlers and the error plumbing between them) costs on the two
// busiest routes, GET /me/ and POST /v1/authz/check, with the token check
// and the store faked out so that only this package's work is counted.
func BenchmarkHotRoutes(b *testing.B) {
	pol, err := authz.Load("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		b.Fatal(err)
	}
	api := NewHandler(Deps{Auth: benchAuth{}, Policies: benchPolicies{pol}})
	checkBody := []byte(`{"resource":"users","action":"list"}`)
	for _, bc := range []struct {
		name, method, path string
		body               []byte
	}{
		{"me", http.MethodGet, "/me/", nil},
		{"check", http.MethodPost, "/v1/authz/check", checkBody},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(bc.method, bc.path, nil)
			req.Header.Set("Authorization", "Bearer bench")
			req.Header.Set("Content-Type", "application/json")
			body := bytes.NewReader(bc.body)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(bc.body)
				req.Body, req.ContentLength = io.NopCloser(body), int64(len(bc.body))
				w.Body.Reset()
				api.ServeHTTP(w, req)
			}
			if w.Code != http.StatusOK {
				b.Fatalf("%s %s: got %d %s, want 200", bc.method, bc.path, w.Code, w.Body)
			}
		})
	}
}

// benchAuth accepts any token as the same active user; the benchmark
// calls nothing else of it.
type benchAuth struct{ Authenticator }

var benchUser = &models.User{ID: 7, Username: "ann", Role: "user", IsActive: true}

func (benchAuth) Authenticate(context.Context, string) (*models.User, error) { return benchUser, nil }

// benchPolicies serves one policy and never reloads.
type benchPolicies struct{ pol *authz.Policy }

func (p benchPolicies) Current() *authz.Policy { return p.pol }
func (p benchPolicies) Reload(context.Context, string) authz.ReloadResult {
	return authz.ReloadResult{}
}
func (p benchPolicies) Last() authz.ReloadResult { return authz.ReloadResult{} }
func (p benchPolicies) Origin() authz.Origin     { return authz.Origin{} }
