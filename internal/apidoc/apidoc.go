// Package apidoc holds rolegate's OpenAPI document and the page that
// renders it. The document is written in YAML (openapi.yaml) and served
// as JSON; the page's scripts are vendored from npm (see assets/README.md)
// so that the documentation works with no network.
package apidoc

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"

	"github.com/goccy/go-yaml"
)

//go:embed openapi.yaml
var document []byte

//go:embed assets/docs.html assets/redoc.standalone.js assets/redoc.standalone.js.LICENSE.txt
var assets embed.FS

// YAML returns the OpenAPI document as written.
func YAML() []byte { return bytes.Clone(document) }

// JSON converts the OpenAPI document to JSON, keeping the order of its
// keys so that the rendered page follows the document.
func JSON() ([]byte, error) {
	var v any
	if err := yaml.UnmarshalWithOptions(document, &v, yaml.UseOrderedMap()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// writeJSON writes v, as decoded from YAML with ordered maps, as JSON. A
// key that appears twice in one map keeps its first place and its last
// value: that is how a YAML merge key ("<<") is overridden by the keys
// written after it.
func writeJSON(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case yaml.MapSlice:
		return writeObject(buf, v)
	case []any:
		buf.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	default:
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(data)
		return nil
	}
}

func writeObject(buf *bytes.Buffer, m yaml.MapSlice) error {
	var keys []string
	values := map[string]any{}
	for _, item := range m {
		k, ok := item.Key.(string)
		if !ok {
			return fmt.Errorf("map key %v is not a string", item.Key)
		}
		if _, seen := values[k]; !seen {
			keys = append(keys, k)
		}
		values[k] = item.Value
	}
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		buf.Write(key)
		buf.WriteByte(':')
		if err := writeJSON(buf, values[k]); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// Page returns the HTML page that renders /openapi.json.
func Page() []byte {
	data, _ := assets.ReadFile("assets/docs.html") // embedded, so it is there
	return data
}

// Asset returns a script or notice the page loads from /docs/assets/, and
// its media type; ok is false for any other name.
func Asset(name string) (data []byte, mediaType string, ok bool) {
	if name == "docs.html" || !fs.ValidPath(name) || path.Dir(name) != "." {
		return nil, "", false
	}
	data, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return nil, "", false
	}
	if path.Ext(name) == ".js" {
		return data, "text/javascript; charset=utf-8", true
	}
	return data, "text/plain; charset=utf-8", true
}
