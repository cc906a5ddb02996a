package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/rolegate/rolegate/internal/apidoc"
)

// TestOpenAPICoversEveryRoute checks the OpenAPI document against the
// routes Gin registers, both ways. The document lists each path once, in
// its canonical form; the route helper's trailing-slash twin of a
// documented path counts as documented. OpenAPI 3.1 has no CONNECT, which
// the Envoy endpoint also answers. HEAD is not listed beside each GET: the
// document says once that every GET operation answers HEAD, so a HEAD
// route must have a documented GET, and every documented GET a HEAD route.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	documented := documentedRoutes(t)
	registered := map[string]bool{}
	for _, r := range newEngine(Deps{}).Routes() {
		registered[r.Method+" "+r.Path] = true
	}
	for key := range registered {
		method, path, _ := strings.Cut(key, " ")
		if method == http.MethodConnect && strings.HasPrefix(path, EnvoyPath+"/") {
			continue
		}
		if method == http.MethodHead && !documented[key] {
			method = http.MethodGet
		}
		if !documented[method+" "+path] && !documented[method+" "+toggleSlash(path)] {
			t.Errorf("route %s: registered, but not in the OpenAPI document", key)
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("operation %s: in the OpenAPI document, but not registered", key)
		}
		if path, ok := strings.CutPrefix(key, http.MethodGet+" "); ok && !registered[http.MethodHead+" "+path] {
			t.Errorf("operation %s: documented, but HEAD %s is not registered", key, path)
		}
	}
	if len(documented) < 40 {
		t.Errorf("got %d documented operations, want the whole API", len(documented))
	}
	t.Logf("%d routes registered (twins included), %d operations documented", len(registered), len(documented))
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// documentedRoutes returns "METHOD path" for each operation of the
// document, with its path in Gin's syntax: {id} is :id, and the Envoy
// endpoint's {path}, which holds slashes, is the catch-all *path.
func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	data, err := apidoc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	out := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		ginPath := pathParam.ReplaceAllString(path, ":$1")
		if rest, ok := strings.CutPrefix(ginPath, EnvoyPath+"/:"); ok {
			ginPath = EnvoyPath + "/*" + rest
		}
		for method := range item.Operations() {
			out[method+" "+ginPath] = true
		}
	}
	return out
}
