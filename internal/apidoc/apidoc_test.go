package apidoc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestDocumentIsValid loads the served JSON as OpenAPI 3.1 and validates it.
func TestDocumentIsValid(t *testing.T) {
	data, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) {
		t.Fatalf("got invalid JSON from JSON()")
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("got openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Errorf("validate: %v", err)
	}
}

// TestMergeKeysOverride checks that keys written after a YAML merge key
// replace the merged ones, in the merged key's place.
func TestMergeKeysOverride(t *testing.T) {
	data, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]struct {
			Post struct {
				OperationID string `json:"operationId"`
				Tags        []string
			} `json:"post"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	seed, canonical := doc.Paths["/signup/"].Post, doc.Paths["/v1/auth/signup"].Post
	if seed.OperationID != "seedSignup" || canonical.OperationID != "signup" {
		t.Errorf("got operationIds %q and %q, want seedSignup and signup", seed.OperationID, canonical.OperationID)
	}
	if len(seed.Tags) != 1 || seed.Tags[0] != "auth" {
		t.Errorf("got /signup/ tags %v, want the merged [auth]", seed.Tags)
	}
}

func TestAsset(t *testing.T) {
	for _, name := range []string{"docs.html", "../apidoc.go", "x/redoc.standalone.js", "nope.js", ""} {
		if _, _, ok := Asset(name); ok {
			t.Errorf("Asset(%q): got ok, want not found", name)
		}
	}
	data, typ, ok := Asset("redoc.standalone.js")
	if !ok || len(data) < 100000 || typ != "text/javascript; charset=utf-8" {
		t.Errorf("Asset(redoc.standalone.js): got %d bytes of %q, ok %v; want the bundle", len(data), typ, ok)
	}
}

// TestPageLoadsNoImage: the vendored Redoc draws a Redocly logo in its
// sidebar from a CDN, which the page's CSP refuses and an offline page
// cannot reach, so browsers showed it broken. vendor.sh removes the image;
// the "API docs by Redocly" link stays.
func TestPageLoadsNoImage(t *testing.T) {
	bundle, _, ok := Asset("redoc.standalone.js")
	if !ok {
		t.Fatal("got no redoc.standalone.js asset")
	}
	for _, s := range []string{`alt:"redocly logo"`, "cdn.redoc.ly"} {
		if n := bytes.Count(bundle, []byte(s)); n != 0 {
			t.Errorf("redoc.standalone.js: got %d of %q, want the logo image removed", n, s)
		}
	}
	if !bytes.Contains(bundle, []byte(`"API docs by Redocly"`)) {
		t.Error(`redoc.standalone.js: got no "API docs by Redocly" link, want it kept`)
	}
}

// TestForwardErrorsOnlyUnderForward: a response description shared by
// many operations must not promise one operation's errors to the others,
// as the shared 400 once named the forward endpoint's
// missing_original_request under signup.
func TestForwardErrorsOnlyUnderForward(t *testing.T) {
	data, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, res := range op.Responses.Map() {
				if res.Value == nil || res.Value.Description == nil || !strings.Contains(*res.Value.Description, "missing_original_request") {
					continue
				}
				found++
				if !strings.HasPrefix(path, "/v1/authz/forward") && !strings.HasPrefix(path, "/v1/authz/envoy/") {
					t.Errorf("%s %s %s: got a description naming missing_original_request, want it only under the forward endpoints", method, path, status)
				}
			}
		}
	}
	if found == 0 {
		t.Error("got no response naming missing_original_request, want the forward endpoint's 400 to")
	}
}
