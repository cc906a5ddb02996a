package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/models"
)

// The user bodies are written by hand rather than through encoding/json:
// a profile of GET /v1/users?limit=100 put reflective JSON encoding at 18%
// of the CPU and its garbage behind much of the 16% spent in GC. The output
// is byte for byte what c.JSON gives for the same value (userJSON, with
// encoding/json's HTML-safe string escaping); TestUserEncodingMatchesJSON
// and FuzzUserEncoding hold it to that.

const jsonContentType = "application/json; charset=utf-8"

// bodyPool recycles response buffers; a buffer that grew past maxPooled is
// left to the GC so one huge page does not pin its memory.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooled = 1 << 20

// writeBody sends the JSON body fill appends. It sets Content-Length, which
// c.JSON does not: without it net/http sends a body over its 2 KiB buffer
// chunked, in several writes (a page of 100 users is about 25 KiB).
func writeBody(c *gin.Context, status int, fill func([]byte) []byte) {
	bp := bodyPool.Get().(*[]byte)
	b := fill((*bp)[:0])
	c.Header("Content-Length", strconv.Itoa(len(b)))
	c.Data(status, jsonContentType, b)
	if cap(b) <= maxPooled {
		*bp = b
		bodyPool.Put(bp)
	}
}

// writeUser answers with one user, as c.JSON(status, toJSON(u)) would.
func writeUser(c *gin.Context, status int, u *models.User) {
	writeBody(c, status, func(b []byte) []byte { return appendUser(b, u) })
}

// writeUserPage answers with a page of users, as
// c.JSON(http.StatusOK, gin.H{"results": ..., "next": next}) would: the
// map's keys come out sorted, so "next" first.
func writeUserPage(c *gin.Context, users []*models.User, next *string) {
	writeBody(c, http.StatusOK, func(b []byte) []byte { return appendUserPage(b, users, next) })
}

func appendUserPage(b []byte, users []*models.User, next *string) []byte {
	b = append(b, `{"next":`...)
	if next == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *next)
	}
	b = append(b, `,"results":[`...)
	for i, u := range users {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUser(b, u)
	}
	return append(b, "]}"...)
}

// appendUser appends u as userJSON encodes: the same fields, in the same
// order, and never the password hash or the token epoch.
func appendUser(b []byte, u *models.User) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, u.ID, 10)
	b = append(b, `,"username":`...)
	b = appendString(b, u.Username)
	b = append(b, `,"email":`...)
	b = appendString(b, u.Email)
	b = append(b, `,"first_name":`...)
	b = appendString(b, u.FirstName)
	b = append(b, `,"last_name":`...)
	b = appendString(b, u.LastName)
	b = append(b, `,"role":`...)
	b = appendString(b, u.Role)
	b = append(b, `,"is_active":`...)
	b = strconv.AppendBool(b, u.IsActive)
	b = append(b, `,"date_joined":`...)
	b = appendTime(b, u.DateJoined)
	b = append(b, `,"last_login":`...)
	if u.LastLogin == nil {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, *u.LastLogin)
	}
	return append(b, '}')
}

// appendTime appends t as time.Time.MarshalJSON does for the years it
// accepts (0 to 9999, which every stored time is in).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does with
// HTML escaping on: '<', '>' and '&' as \u003c, \u003e and \u0026; control
// characters as \b, \f, \n, \r, \t or \u00XX; invalid UTF-8 as \ufffd; and
// U+2028 and U+2029 escaped, since JavaScript treats them as line ends.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
