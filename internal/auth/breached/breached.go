// Package breached is a list of passwords of at least 12 characters that
// appeared in data breaches, shipped compressed inside the binary; see
// README.md for its sources and licences and gen.go for how it is built.
package breached

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MinLength is the shortest entry, in characters after Normalize: shorter
// passwords are refused for their length before the list matters.
const MinLength = 12

//go:embed breached.txt.gz
var compressed []byte

// Normalize is the form entries are kept and looked up in: NFKC, then
// lower-cased, so that "PassWord1234" and its fullwidth spelling find
// "password1234".
func Normalize(password string) string { return strings.ToLower(norm.NFKC.String(password)) }

// List is a sorted set of normalized passwords: one string holding them
// all, newline-terminated, and a 4-byte offset where each starts, instead
// of a 16-byte string header and an allocation per entry; the garbage
// collector has two objects to scan, not 55,000.
type List struct {
	text   string
	starts []uint32
}

// Len returns how many passwords l holds.
func (l *List) Len() int { return len(l.starts) }

// entry returns the i-th password.
func (l *List) entry(i int) string {
	end := len(l.text)
	if i+1 < len(l.starts) {
		end = int(l.starts[i+1])
	}
	return l.text[l.starts[i] : end-1]
}

// Contains reports whether password, once normalized, is on the list. It
// is a binary search: about 17 comparisons for 100,000 entries.
func (l *List) Contains(password string) bool {
	key := Normalize(password)
	lo, hi := 0, len(l.starts)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch e := l.entry(mid); {
		case e == key:
			return true
		case e < key:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// Load returns the shipped list, decompressing it on the first call.
func Load() (*List, error) { return load() }

var load = onceList()

func onceList() func() (*List, error) {
	return sync.OnceValues(func() (*List, error) {
		zr, err := gzip.NewReader(bytes.NewReader(compressed))
		if err != nil {
			return nil, fmt.Errorf("breached password list: %w", err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("breached password list: %w", err)
		}
		return parse(string(raw))
	})
}

// parse checks that text is what gen.go writes, sorted unique normalized
// lines of at least MinLength characters, each ending in a newline, and
// indexes it.
func parse(text string) (*List, error) {
	if len(text) >= 1<<32 {
		return nil, fmt.Errorf("breached password list: %d bytes is too large to index", len(text))
	}
	l := &List{text: text, starts: make([]uint32, 0, strings.Count(text, "\n"))}
	prev := ""
	for pos := 0; pos < len(text); {
		n := strings.IndexByte(text[pos:], '\n')
		if n < 0 {
			return nil, fmt.Errorf("breached password list: the last line has no newline")
		}
		e := text[pos : pos+n]
		if utf8.RuneCountInString(e) < MinLength || Normalize(e) != e || (len(l.starts) > 0 && e <= prev) {
			return nil, fmt.Errorf("breached password list: line %d %q is short, not normalized or out of order", len(l.starts)+1, e)
		}
		l.starts = append(l.starts, uint32(pos))
		prev, pos = e, pos+n+1
	}
	return l, nil
}
