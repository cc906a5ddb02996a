package httpapi

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// requestBodies are the structs the handlers decode request bodies into,
// by the fuzz input's first byte.
var requestBodies = []func() any{
	func() any { return new(signupInput) },
	func() any { return new(loginInput) },
	func() any { return new(updateInput) },
	func() any { return new(createInput) },
	func() any { return new(refreshInput) },
	func() any { return new(changePasswordInput) },
	func() any { return new(resetPasswordInput) },
	func() any { return new(checkInput) },
	func() any { return new(subjectInput) },
	func() any { return new(batchInput) },
}

// FuzzDecode feeds arbitrary bodies to the strict decoder with each real
// request struct. A body is refused as bad input (400) or accepted; an
// accepted body has only the struct's keys, each once and spelled
// exactly, and re-encoding what was decoded gives a body that decodes to
// the same thing.
func FuzzDecode(f *testing.F) {
	for kind, body := range []string{
		`{"username":"ann","email":"ann@example.com","password":"Pw9vQx-long"}`,
		`{"username":"ann","password":"x"}`,
		`{"first_name":" Ann ","is_active":false,"id":7,"date_joined":"2026-01-01T00:00:00Z","last_login":null}`,
		`{"username":"bob","role":"staff","is_active":true,"password":"p"}`,
		`{"refresh":"a.b.c"}`,
		`{"old_password":"a","new_password":"b"}`,
		`{"new_password":"b"}`,
		`{"resource":"users","action":"read","owner_id":2,"subject":{"user_id":3}}`,
		`{"user_id":1}`,
		`{"checks":[{"resource":"users","action":"list"},{"resource":"x","action":"y","subject":{"user_id":9}}]}`,
	} {
		f.Add(uint8(kind), []byte(body))
	}
	for _, body := range []string{
		``, ` `, `null`, `[]`, `"x"`, `{}`, `{}{}`, `{} x`, `{"username":"a","username":"b"}`,
		`{"Username":"a"}`, `{"USERNAME":"a"}`, "{\"u\u017fername\":\"a\"}", `{"\u0075sername":"a"}`,
		`{"username":null}`, `{"username":1}`, `{"is_active":"yes"}`, `{"owner_id":1e3}`,
		`{"owner_id":99999999999999999999}`, `{"subject":null}`, `{"subject":{"User_id":1}}`,
		`{"subject":{"user_id":1,"user_id":2}}`, `{"checks":[1]}`, `{"checks":null}`, "{\"a\":\"\xff\"}",
	} {
		f.Add(uint8(0), []byte(body))
		f.Add(uint8(7), []byte(body))
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		newDst := requestBodies[int(kind)%len(requestBodies)]
		dst := newDst()
		err := decodeJSON(body, dst)
		if err != nil {
			if code := models.ErrorCode(err); code != models.EINVALID {
				t.Fatalf("decode %T %q: error code %s (%v), want %s", dst, body, code, err, models.EINVALID)
			}
			return
		}
		checkAcceptedKeys(t, dst, body)
		again := newDst()
		enc := reencode(t, dst)
		if err := decodeJSON(enc, again); err != nil {
			t.Fatalf("decode %T %q, re-encoded as %q: %v", dst, body, enc, err)
		}
		if enc2 := reencode(t, again); !bytes.Equal(enc, enc2) {
			t.Fatalf("decode %T %q: re-encoding is not stable: %q then %q", dst, body, enc, enc2)
		}
		if _, ok := dst.(*checkInput); ok {
			checkParses(t, body)
		}
	})
}

// checkAcceptedKeys asserts that an accepted body's top-level keys are all
// json names of dst, exactly, and that none appears twice.
func checkAcceptedKeys(t *testing.T, dst any, body []byte) {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	names := jsonNames(reflect.TypeOf(dst).Elem())
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		t.Fatalf("accepted %q: %v", body, err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("accepted %q: %v", body, err)
		}
		key := tok.(string)
		if _, ok := names[key]; !ok || seen[key] {
			t.Fatalf("decode %T accepted %q, whose key %q is unknown or repeated", dst, body, key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("accepted %q: %v", body, err)
		}
	}
}

// reencode is v as a client would send it back: absent fields are left
// out rather than sent as null, which the decoder refuses.
func reencode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("encode %T as %q: %v", v, b, err)
	}
	for k, raw := range m {
		if string(raw) == "null" {
			delete(m, k)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkParses asserts that a check body the decoder accepts is a question
// or bad input, never anything else, as the check handler reads it.
func checkParses(t *testing.T, body []byte) {
	t.Helper()
	q, err := parseCheck(body)
	if err != nil {
		if code := models.ErrorCode(err); code != models.EINVALID {
			t.Fatalf("parseCheck %q: error code %s (%v), want %s", body, code, err, models.EINVALID)
		}
		return
	}
	if q.resource.Type == "" || q.action == "" || q.subjectID < 0 || q.resource.OwnerID < 0 {
		t.Fatalf("parseCheck %q = %+v: accepted an incomplete question", body, q)
	}
}

// FuzzCursor feeds arbitrary ?cursor values to the list paging: a cursor
// is the page's last id in base64url; anything else is a 400 naming the
// cursor, and a cursor that decodes is exactly the one encodeCursor gives
// for its id.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{encodeCursor(1), encodeCursor(50), encodeCursor(1<<63 - 1), "", "MA", "LTE", "MDE", "MQ==", "MQ", "Mg.", "+/", "*", "%00"} {
		f.Add(s, int64(7))
	}
	f.Add("", int64(-1))
	f.Fuzz(func(t *testing.T, s string, id int64) {
		got, ok := decodeCursor(s)
		switch {
		case ok && (got <= 0 || encodeCursor(got) != s):
			t.Fatalf("decodeCursor(%q) = %d, which encodes as %q", s, got, encodeCursor(got))
		case !ok && got != 0:
			t.Fatalf("decodeCursor(%q) refused the cursor but gave id %d", s, got)
		}
		if id > 0 {
			if back, ok := decodeCursor(encodeCursor(id)); !ok || back != id {
				t.Fatalf("cursor of %d decodes to %d, %v", id, back, ok)
			}
		}
		f, err := listFilter(url.Values{"cursor": {s}, "limit": {strconv.FormatInt(id, 10)}})
		if s == "" || ok {
			if f.AfterID != got {
				t.Fatalf("listFilter(cursor=%q).AfterID = %d, want %d", s, f.AfterID, got)
			}
			return
		}
		e := models.AsError(err)
		if e.Code != models.EINVALID || len(e.Fields["cursor"]) == 0 {
			t.Fatalf("listFilter(cursor=%q) = %v, want a 400 naming the cursor", s, err)
		}
	})
}

// FuzzAuditCursor feeds arbitrary ?cursor values to the audit trail's
// paging: a cursor is base64url of "MICROS.ID"; anything else is a 400
// naming the cursor, and a cursor that decodes is exactly the one
// encodeAuditCursor gives for its position.
func FuzzAuditCursor(f *testing.F) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)
	for _, s := range []string{
		encodeAuditCursor(models.AuditPosition{At: at, ID: 1}), encodeAuditCursor(models.AuditPosition{At: time.Unix(0, 0), ID: 1<<63 - 1}),
		encodeCursor(7), "", "MS4x", "MS4w", "LTEuMQ", "KzEuMQ", "MDEuMQ", "MS4xLjE", "MS4x=", "%00",
	} {
		f.Add(s, int64(7), int64(at.UnixMicro()))
	}
	f.Fuzz(func(t *testing.T, s string, id, micros int64) {
		got, ok := decodeAuditCursor(s)
		switch {
		case ok && (got.ID <= 0 || encodeAuditCursor(got) != s):
			t.Fatalf("decodeAuditCursor(%q) = %+v, which encodes as %q", s, got, encodeAuditCursor(got))
		case !ok && !got.IsZero():
			t.Fatalf("decodeAuditCursor(%q) refused the cursor but gave %+v", s, got)
		}
		if id > 0 {
			p := models.AuditPosition{At: time.UnixMicro(micros).UTC(), ID: id}
			if back, ok := decodeAuditCursor(encodeAuditCursor(p)); !ok || back != p {
				t.Fatalf("cursor of %+v decodes to %+v, %v", p, back, ok)
			}
		}
		f, err := auditFilter(url.Values{"cursor": {s}})
		if s == "" || ok {
			if f.Before != got {
				t.Fatalf("auditFilter(cursor=%q).Before = %+v, want %+v", s, f.Before, got)
			}
			return
		}
		e := models.AsError(err)
		if e.Code != models.EINVALID || len(e.Fields["cursor"]) == 0 {
			t.Fatalf("auditFilter(cursor=%q) = %v, want a 400 naming the cursor", s, err)
		}
	})
}
