package apidoc

import (
	"encoding/json"
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
