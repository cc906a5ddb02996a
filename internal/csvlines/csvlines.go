// Package csvlines reads the line-oriented CSV files of a policy:
// policy.csv, routes.csv and policy_test.csv. Each line that is not blank
// or a comment holds one record. The package knows no columns; each
// caller checks the fields of its own file.
package csvlines

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"iter"
	"strings"
)

// MaxLine is the most bytes a line may take, its end included.
const MaxLine = 1 << 20

// Line is one record of a file and where it is.
type Line struct {
	// N is the line's number in the file, counting from 1; 0 for a
	// failure that belongs to no one line.
	N int
	// Fields are the line's comma-separated fields, each trimmed of white
	// space, inside quotes too. Nil when the line cannot be read.
	Fields []string
}

// Read yields each record of data, in order, with its line. Lines end in
// "\n" or "\r\n", and the last may have no end. Blank lines and comments,
// lines whose first character other than white space is "#", hold no
// record. Fields are separated by commas and may be quoted as in RFC 4180,
// which lets them hold commas and "#", but not line breaks; white space
// before and after a field's text is dropped. A byte order mark is not
// skipped: it is text of the first field. A trailing comma is one more,
// empty, field.
//
// A line that is not valid CSV (an unclosed quote, a quote inside an
// unquoted field, text after a closing quote) is yielded with its number
// and an error saying why. A line that does not fit in MaxLine bytes ends
// the reading, with an error that names no line.
func Read(data []byte) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), MaxLine)
		for n := 1; sc.Scan(); n++ {
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			fields, err := split(text)
			if !yield(Line{N: n, Fields: fields}, err) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Line{}, err)
		}
	}
}

// split splits one line, already trimmed, into its trimmed fields.
func split(text string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	fields, err := cr.Read()
	if err != nil {
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot parse line: %w", err)
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields, nil
}
