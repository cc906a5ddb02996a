package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/models"
)

// MaxBodyBytes is the largest request body read.
const MaxBodyBytes = 1 << 20

// decode reads the request body into dst, a pointer to a struct whose
// fields have json tags, strictly:
//   - a body that is not JSON by Content-Type is EUNSUPPORTED (415);
//   - a body over MaxBodyBytes is ETOOLARGE (413);
//   - the body must be one JSON object in valid UTF-8, with nothing after;
//   - every key must be one of dst's json names exactly: encoding/json
//     would match "ROLE" to "role" and keep the last of duplicate keys, so
//     both are refused here before it runs;
//   - null is refused for every field;
//   - a value of the wrong type names its field.
//
// An empty body is an empty object, as DRF treats it.
func decode(c *gin.Context, dst any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeJSON(body, dst)
}

// decodeJSON is decode for a body already read, or for an object nested
// in one (see object).
func decodeJSON(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := checkKeys(body, jsonNames(reflect.TypeOf(dst).Elem())); err != nil {
		return err
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return models.FieldError(jsonField(te.Field), typeMessage(te.Type))
		}
		return parseError(err)
	}
	return nil
}

// jsonField returns the JSON name in an UnmarshalTypeError's field path.
// encoding/json prefixes a field promoted from an embedded struct with the
// struct's Go name ("profileFields.email"); every field decode accepts is
// a top-level key, so the name is the last element.
func jsonField(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}

func readBody(c *gin.Context) ([]byte, error) {
	r := c.Request
	if r.ContentLength > MaxBodyBytes {
		return nil, errTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, models.Errorf(models.EINVALID, "Could not read the request body.")
	}
	if len(body) > 0 && !isJSON(r.Header.Get("Content-Type")) {
		return nil, &models.Error{Code: models.EUNSUPPORTED, Message: fmt.Sprintf("Unsupported media type %q in request; send application/json.", r.Header.Get("Content-Type"))}
	}
	if !utf8.Valid(body) {
		return nil, parseError(errors.New("body is not valid UTF-8"))
	}
	return body, nil
}

// object is a JSON object nested in a request body, kept raw so that
// decodeJSON can read it as strictly as a body: encoding/json alone would
// ignore unknown keys in it and match keys without regard to case. Unlike
// json.RawMessage, it may not be null.
type object []byte

func (o *object) UnmarshalJSON(b []byte) error {
	*o = append((*o)[:0], b...)
	return nil
}

// MarshalJSON writes the object back as it was sent, so that a decoded
// body encodes as JSON again rather than as base64 bytes.
func (o object) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	return o, nil
}

// underField places the problems err reports inside field of a larger
// body: "user_id" becomes "subject.user_id", and a problem with the value
// as a whole becomes field's own. Other errors pass through.
func underField(field string, err error) error {
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.EINVALID {
		return err
	}
	if len(e.Fields) == 0 {
		return models.FieldError(field, e.Message)
	}
	f := fieldErrors{}
	for name, msgs := range e.Fields {
		f[field+"."+name] = msgs
	}
	return f.err()
}

var errTooLarge = &models.Error{Code: models.ETOOLARGE, Message: fmt.Sprintf("Request body is larger than %d bytes.", MaxBodyBytes)}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func parseError(err error) error {
	return &models.Error{Code: models.EINVALID, Reason: "parse_error", Message: "JSON parse error - " + err.Error()}
}

// checkKeys checks the top level of body: one object, known keys only,
// each once, and nothing after it. allowed maps each known key to whether
// it may be null.
func checkKeys(body []byte, allowed map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return parseError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return models.Errorf(models.EINVALID, "Invalid data. Expected a JSON object.")
	}
	seen := map[string]bool{}
	problems := fieldErrors{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return parseError(err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return parseError(err)
		}
		nullable, known := allowed[key]
		switch {
		case seen[key]:
			problems.add(key, "Duplicate field.")
		case !known:
			problems.add(key, "Unknown field.")
		case string(raw) == "null" && !nullable:
			problems.add(key, "This field may not be null.")
		}
		seen[key] = true
	}
	if _, err := dec.Token(); err != nil {
		return parseError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return parseError(errors.New("unexpected data after the JSON object"))
	}
	return problems.err()
}

var namesCache sync.Map // reflect.Type -> map[string]bool

var rawMessage = reflect.TypeFor[json.RawMessage]()

// jsonNames maps the json names of a struct type's fields, including those
// of embedded structs, to whether the field may be null: only fields kept
// as raw JSON, which the handlers ignore.
func jsonNames(t reflect.Type) map[string]bool {
	if v, ok := namesCache.Load(t); ok {
		return v.(map[string]bool)
	}
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n, nullable := range jsonNames(f.Type) {
				names[n] = nullable
			}
			continue
		}
		if name != "" && name != "-" {
			names[name] = f.Type == rawMessage
		}
	}
	namesCache.Store(t, names)
	return names
}

func typeMessage(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "Not a valid string."
	case reflect.Bool:
		return "Must be a valid boolean."
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "A valid integer is required."
	case reflect.Slice:
		return "Expected a list of items."
	}
	return "Invalid type."
}
