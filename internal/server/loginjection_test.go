package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/dbtest"
)

// hostile are strings an attacker sends, in a username and a path, to make
// a log reader see a line the server never wrote: line breaks of every
// kind, a forged JSON record, a forged text record, terminal escapes that
// erase the line, quotes that close the value early, and bidirectional
// overrides.
var hostile = []string{
	"a1\n{\"time\":\"2030-01-01T00:00:00Z\",\"level\":\"ERROR\",\"msg\":\"forged\"}",
	"a2\ntime=2030-01-01T00:00:00Z level=ERROR msg=forged",
	"a3\r\nlevel=ERROR msg=forged",
	"a4\rmsg=forged",
	"a5\u2028msg=forged\u2029msg=forged",
	"a6\u0085msg=forged\x0b\x0c\x1c\x1d\x1e",
	"a7\x1b[2K\x1b[1Gmsg=forged",
	"a8\x00\x08\x7f",
	"a9\" msg=forged x=\"",
	"a10\\\" msg=forged \\",
	"a11\u202emsg=forged\u2066",
}

// TestLogsCannotBeForged sends hostile usernames, paths and headers, with
// the log in JSON and in text (the two formats of ROLEGATE_LOG_FORMAT, at
// debug level so that every request has its line). Every line of the log
// must be one whole record the server wrote, every hostile string must
// come out whole as the value it was, escaped, and no control character
// may reach the log raw. (OWASP ASVS V7.1.)
func TestLogsCannotBeForged(t *testing.T) {
	formats := map[string]func(io.Writer) slog.Handler{
		"json": func(w io.Writer) slog.Handler {
			return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
		"text": func(w io.Writer) slog.Handler {
			return slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
	}
	for _, target := range dbtest.Targets(t) {
		for format, newHandler := range formats {
			t.Run(target.Name+"/"+format, func(t *testing.T) {
				e := startLogged(t, false, target.URL, newHandler)
				sendHostile(t, e)
				records := parseLog(t, format, e.logs.String())
				checkHostileRecords(t, records)
			})
		}
	}
}

// sendHostile logs in with each hostile username, asks for each hostile
// path (unmatched, and through Envoy's forward endpoint), and sends
// hostile headers.
func sendHostile(t *testing.T, e *env) {
	t.Helper()
	for _, h := range hostile {
		if got := e.do(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": h, "password": "a long wrong password"}, nil).StatusCode; got != http.StatusUnauthorized && got != http.StatusBadRequest {
			t.Fatalf("login as %q: got %d, want 401 or 400", h, got)
		}
		for _, prefix := range []string{"/nowhere/", "/v1/authz/envoy/"} {
			path := prefix + url.PathEscape(h)
			if got := e.do(t, http.MethodGet, path, "", nil, nil).StatusCode; got < 400 || got >= 500 {
				t.Fatalf("GET %s: got %d, want a 4xx", path, got)
			}
		}
	}
	// Header values cannot hold line breaks (the server refuses them), but
	// quotes and spaces can try to end a value early.
	req, _ := http.NewRequest(http.MethodGet, e.base+"/healthz", nil)
	req.Header.Set("X-Request-ID", `x" level=ERROR msg=forged`)
	req.Header.Set("X-Forwarded-For", `1.2.3.4" msg=forged`)
	req.Header.Set("User-Agent", `ua" msg=forged`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-ID"); strings.ContainsAny(id, "\" =") {
		t.Errorf("X-Request-ID: got %q echoed, want a new safe id", id)
	}
}

// record is one log record, its values as strings: JSON values other
// than strings are kept as their JSON text.
type record map[string]string

// parseLog splits the log into lines and parses each as one record,
// failing on any line that is not exactly one record, or on a character
// that reached the log unescaped although a reader may take it for the
// end of a line: a C0 control, or U+2028 and U+2029, which JavaScript
// reads as line terminators. The text format escapes every non-printable
// character; JSON leaves DEL, U+0085 and the bidirectional controls as
// they are (valid JSON, and no JSON-lines reader splits on them).
func parseLog(t *testing.T, format, log string) []record {
	t.Helper()
	for i, r := range log {
		if r < 0x20 && r != '\n' || r == '\u2028' || r == '\u2029' || format == "text" && r != '\n' && !strconv.IsPrint(r) {
			t.Fatalf("%s log: raw %U at byte %d: %q", format, r, i, log[max(0, i-40):min(len(log), i+40)])
		}
	}
	if !utf8.ValidString(log) && format == "json" {
		t.Fatalf("json log: invalid UTF-8")
	}
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	records := make([]record, 0, len(lines))
	for n, line := range lines {
		var rec record
		var err error
		if format == "json" {
			rec, err = parseJSONLine(line)
		} else {
			rec, err = parseTextLine(line)
		}
		if err != nil {
			t.Fatalf("%s log line %d is not one record (%v): %q", format, n+1, err, line)
		}
		if rec["msg"] == "forged" || rec["level"] != "INFO" && rec["level"] != "DEBUG" && rec["level"] != "WARN" || !strings.HasPrefix(rec["time"], "20") {
			t.Fatalf("%s log line %d: got a record the server did not write: %q", format, n+1, line)
		}
		records = append(records, rec)
	}
	return records
}

func parseJSONLine(line string) (record, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	rec := record{}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			rec[k] = s
		} else {
			rec[k] = string(raw)
		}
	}
	return rec, nil
}

// parseTextLine reads slog's text format: key=value pairs separated by
// one space, a value either bare or a Go-quoted string; every key once.
func parseTextLine(line string) (record, error) {
	rec := record{}
	for rest := line; rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			return nil, fmt.Errorf("want key=value at %q", rest)
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			quoted, err := strconv.QuotedPrefix(after)
			if err != nil {
				return nil, fmt.Errorf("bad quoted value at %q: %w", after, err)
			}
			value, _ = strconv.Unquote(quoted)
			after = after[len(quoted):]
		} else {
			end := strings.IndexByte(after, ' ')
			if end < 0 {
				end = len(after)
			}
			value, after = after[:end], after[end:]
		}
		if _, dup := rec[key]; dup {
			return nil, fmt.Errorf("key %q twice", key)
		}
		rec[key] = value
		if after != "" && after[0] != ' ' {
			return nil, fmt.Errorf("want a space after %s's value, got %q", key, after)
		}
		rest = strings.TrimPrefix(after, " ")
	}
	return rec, nil
}

// checkHostileRecords finds each hostile string whole in the records: as
// the username of a login.failure audit record and as the path of two
// access lines. Found whole, it was carried as one escaped value.
func checkHostileRecords(t *testing.T, records []record) {
	t.Helper()
	for _, h := range hostile {
		var logins, paths int
		for _, rec := range records {
			switch {
			case rec["msg"] == "audit" && rec["action"] == "login.failure" && detailHas(rec["detail"], h):
				logins++
			case rec["msg"] == "request" && strings.HasSuffix(rec["path"], "/"+h):
				paths++
			}
		}
		if logins != 1 || paths != 2 {
			t.Errorf("%q: got %d login.failure records and %d access lines holding it whole, want 1 and 2", h, logins, paths)
		}
	}
	for _, rec := range records {
		if rec["msg"] == "request" && rec["route"] == "/healthz" && (rec["client_ip"] != "127.0.0.1" || strings.Contains(rec["request_id"], `"`)) {
			t.Errorf("hostile headers: got client_ip %q, request_id %q; want 127.0.0.1 and a new safe id", rec["client_ip"], rec["request_id"])
		}
	}
}

// detailHas reports whether an audit record's detail holds username h: in
// JSON the detail is an object, in text the map's %v form.
func detailHas(detail, h string) bool {
	var d map[string]any
	if json.Unmarshal([]byte(detail), &d) == nil {
		return d["username"] == h
	}
	return strings.Contains(detail, "username:"+h+"]")
}
