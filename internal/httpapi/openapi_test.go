package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/rolegate/rolegate/internal/apidoc"
	"github.com/rolegate/rolegate/internal/httpapi"
)

// exactPaths answer only as written; every other path also answers as its
// trailing-slash twin, which the document does not list (see its
// description).
var exactPaths = map[string]bool{
	"/healthz": true, "/readyz": true, "/.well-known/jwks.json": true, "/openapi.json": true,
}

// specValidator checks every response the HTTP tests get against the
// OpenAPI document, and keeps the mismatches for TestMain to report.
type specValidator struct {
	doc    *openapi3.T
	router routers.Router

	mu        sync.Mutex
	validated int
	failures  []string
	seen      map[string]bool // "operationId status" of the responses validated
}

func newSpecValidator() (*specValidator, error) {
	data, err := apidoc.JSON()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	doc.Servers = nil // match any host: the test servers listen on random ports
	// The documentation page and its scripts are text, decoded as strings.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &specValidator{doc: doc, router: router, seen: map[string]bool{}}, nil
}

// transport wraps base so that each response through it is validated.
func (v *specValidator) transport(base http.RoundTripper) http.RoundTripper {
	return validatingTransport{base: base, v: v}
}

type validatingTransport struct {
	base http.RoundTripper
	v    *specValidator
}

func (tr validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	tr.v.record(req, res, tr.v.validate(req, res, body))
	return res, nil
}

func (v *specValidator) record(req *http.Request, res *http.Response, err error) {
	op := "(no operation)"
	if route, _, findErr := v.findRoute(req); findErr == nil {
		op = route.Operation.OperationID
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.validated++
	v.seen[fmt.Sprintf("%s %d", op, res.StatusCode)] = true
	if err != nil {
		v.failures = append(v.failures, fmt.Sprintf("%s %s -> %d: %v", req.Method, req.URL.RequestURI(), res.StatusCode, err))
	}
}

// report returns how many responses were validated, how many distinct
// operations and statuses they covered, and the mismatches.
func (v *specValidator) report() (validated, covered int, failures []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.validated, len(v.seen), append([]string(nil), v.failures...)
}

// validate checks one response: against its operation when the document
// has one, and otherwise as the 404 or 405 error the router answers.
func (v *specValidator) validate(req *http.Request, res *http.Response, body []byte) error {
	if isPreflight(req) && res.StatusCode == http.StatusNoContent {
		return wantPreflight(req, res, body)
	}
	route, params, err := v.findRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return v.wantError(res, body, http.StatusNotFound)
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return v.wantError(res, body, http.StatusMethodNotAllowed)
	case err != nil:
		return err
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			ExcludeResponseBody:   req.Method == http.MethodHead,
			MultiError:            true,
		},
	})
}

// isPreflight reports whether req is a browser's CORS preflight. Those are
// answered by the CORS middleware on every path, for listed origins only,
// as the document's description says, not by an operation: an OPTIONS
// operation on every path would bury the API.
func isPreflight(req *http.Request) bool {
	return req.Method == http.MethodOptions && req.Header.Get("Origin") != "" &&
		req.Header.Get("Access-Control-Request-Method") != ""
}

// wantPreflight checks an allowed preflight's answer: no body, and the
// caller's own origin echoed.
func wantPreflight(req *http.Request, res *http.Response, body []byte) error {
	if len(body) != 0 {
		return fmt.Errorf("preflight answered with a body %q, want none", body)
	}
	if got, want := res.Header.Get("Access-Control-Allow-Origin"), req.Header.Get("Origin"); got != want {
		return fmt.Errorf("preflight: got Access-Control-Allow-Origin %q, want %q", got, want)
	}
	return nil
}

// findRoute finds the request's operation, trying the trailing-slash twin
// of its path too. Under the Envoy endpoint, whose {path} holds slashes,
// any path is the one documented path.
func (v *specValidator) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	path := req.URL.Path
	candidates := []string{path}
	if !exactPaths[path] && !exactPaths[strings.TrimSuffix(path, "/")] {
		candidates = append(candidates, toggleSlash(path))
	}
	if strings.HasPrefix(path, httpapi.EnvoyPath+"/") && len(path) > len(httpapi.EnvoyPath)+1 {
		candidates = []string{httpapi.EnvoyPath + "/any"}
	}
	err := routers.ErrPathNotFound
	for _, p := range candidates {
		r := req.Clone(req.Context())
		r.URL.Path, r.URL.RawPath = p, ""
		if r.Method == http.MethodHead {
			r.Method = http.MethodGet // HEAD is GET's operation without the body, as the document says
		}
		route, params, findErr := v.router.FindRoute(r)
		if findErr == nil {
			return route, params, nil
		}
		if errors.Is(findErr, routers.ErrMethodNotAllowed) {
			err = routers.ErrMethodNotAllowed
		} else if !errors.Is(findErr, routers.ErrPathNotFound) {
			return nil, nil, findErr
		}
	}
	return nil, nil, err
}

func toggleSlash(p string) string {
	if trimmed, ok := strings.CutSuffix(p, "/"); ok {
		return trimmed
	}
	return p + "/"
}

// wantError checks a response the router makes itself: status want, with
// an Error body.
func (v *specValidator) wantError(res *http.Response, body []byte, want int) error {
	if res.StatusCode != want {
		return fmt.Errorf("no operation in the document; got status %d, want %d", res.StatusCode, want)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return err
	}
	return v.doc.Components.Schemas["Error"].Value.VisitJSON(value, openapi3.EnableJSONSchema2020())
}

// TestSpecValidatorCatchesMismatches checks that the validator the suite
// runs behind refuses what the document does not allow, so that its zero
// mismatches mean something.
func TestSpecValidatorCatchesMismatches(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
		header       http.Header
		body         string
		ok           bool
	}{
		{"GET", "/healthz", 200, nil, `{"status":"ok"}`, true},
		{"GET", "/healthz", 418, nil, `{"status":"ok"}`, false},
		{"GET", "/healthz", 200, nil, `{"status":"fine"}`, false},
		{"GET", "/v1/me/", 200, nil, `{"id":"x"}`, false},
		{"GET", "/v1/me", 401, http.Header{"Www-Authenticate": {"Bearer"}}, `{"detail":"d","code":"c"}`, true},
		{"GET", "/v1/me", 401, nil, `{"detail":"d","code":"c"}`, false},
		{"DELETE", "/admin/users/7", 204, nil, ``, true},
		{"GET", "/v1/authz/envoy/a/b/c", 200, nil, `{}`, true},
		{"GET", "/v1/authz/envoy/a/b/c", 200, nil, `{"x":1}`, false},
		{"GET", "/no/such/path", 404, nil, `{"detail":"Not found.","code":"not_found"}`, true},
		{"GET", "/healthz/", 200, nil, `{"status":"ok"}`, false},
		{"POST", "/healthz", 405, nil, `{"detail":"d","code":"method_not_allowed"}`, true},
		{"POST", "/healthz", 405, nil, `{"detail":"d"}`, false},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, "http://127.0.0.1"+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		header := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
		for k, v := range c.header {
			header[k] = v
		}
		res := &http.Response{StatusCode: c.status, Header: header}
		err = spec.validate(req, res, []byte(c.body))
		if (err == nil) != c.ok {
			t.Errorf("%s %s -> %d %s: got error %v, want ok %v", c.method, c.path, c.status, c.body, err, c.ok)
		}
	}
}
