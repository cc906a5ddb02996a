package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rolegate/rolegate/models"
)

// Formats Read detects.
const (
	// FormatDjango is the output of Django's "manage.py dumpdata" for a
	// user model: a JSON array of {"model", "pk", "fields"}.
	FormatDjango = "django"
	// FormatJSON is a JSON array of Records.
	FormatJSON = "json"
	// FormatCSV is a header row naming some of Columns, then one user a
	// row.
	FormatCSV = "csv"
)

// File is a parsed import file.
type File struct {
	Format string
	// Rows are the users, and entries of models the import does not read.
	Rows []Row
	// Tenants, Members and Groups are the tenant layer of a Django export
	// shaped like seed 003's ProjectMeats: tenants.tenant,
	// tenants.tenantuser and auth.group entries. Other formats have none.
	Tenants []TenantRow
	Members []MemberRow
	Groups  []GroupRow
}

// Row is one entry of an import file.
type Row struct {
	// Ref names the row in reports: "row 3 (pk 7)" in JSON, "line 4 (id 7)"
	// in CSV.
	Ref string
	// User is what the row describes. Role is "" when the row names none,
	// and DateJoined is zero when it has none.
	User models.User
	// Superuser and Staff are Django's is_superuser and is_staff flags.
	// They pick the role of a row that names none.
	Superuser bool
	Staff     bool
	// Groups are the user's Django groups, by pk or by name.
	Groups []Key
	// Problem, when not "", is why the row could not be read.
	Problem string
	// entry is the row's place in the file, from 1, which orders the
	// failures of a file with several kinds of rows.
	entry int
}

// Read parses an import file and detects its format: JSON when it starts
// with "[", then Django's when the first entry has "model" and "fields",
// and CSV otherwise. A row that cannot be read is kept with its Problem;
// an error means the file as a whole is unreadable (bad JSON syntax, a
// CSV header naming unknown columns).
func Read(r io.Reader) (*File, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := skipSpace(br)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty")
	}
	if err != nil {
		return nil, err
	}
	switch first {
	case '[':
		return readJSON(br)
	case '{':
		return nil, errors.New("a JSON import file must hold an array of users, not an object")
	}
	return readCSV(br)
}

// skipSpace skips a UTF-8 byte order mark and white space, and returns the
// next byte without consuming it.
func skipSpace(br *bufio.Reader) (byte, error) {
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !strings.ContainsRune(" \t\r\n", rune(b)) {
			return b, br.UnreadByte()
		}
	}
}

// readJSON reads a JSON array one entry at a time, so that a bad entry
// spoils only its own row.
func readJSON(r io.Reader) (*File, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("read JSON: %w", err)
	}
	f := &File{Format: FormatJSON}
	for n := 1; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("read JSON entry %d: %w", n, err)
		}
		if n == 1 && isDjangoEntry(raw) {
			f.Format = FormatDjango
		}
		if f.Format == FormatDjango {
			f.addDjango(n, raw)
		} else {
			f.Rows = append(f.Rows, recordRow(n, raw))
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("read JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("read JSON: data after the array")
	}
	return f, nil
}

func isDjangoEntry(raw json.RawMessage) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) != nil {
		return false
	}
	_, model := probe["model"]
	_, fields := probe["fields"]
	return model && fields
}

// recordRow reads one entry of a rolegate JSON user file. Unknown keys are
// refused, so that a misspelt column is not silently dropped.
func recordRow(n int, raw json.RawMessage) Row {
	row := Row{Ref: fmt.Sprintf("row %d", n)}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var rec Record
	if err := dec.Decode(&rec); err != nil {
		row.Problem = fmt.Sprintf("cannot read the entry: %v", err)
		return row
	}
	if rec.ID == nil {
		row.Problem = "id: This field is required."
		return row
	}
	row.Ref += fmt.Sprintf(" (id %d)", *rec.ID)
	row.User = models.User{
		ID: *rec.ID, Username: rec.Username, Email: rec.Email, FirstName: rec.FirstName, LastName: rec.LastName,
		Role: rec.Role, IsActive: rec.IsActive == nil || *rec.IsActive, PasswordHash: rec.PasswordHash,
		LastLogin: rec.LastLogin,
	}
	if rec.DateJoined != nil {
		row.User.DateJoined = *rec.DateJoined
	}
	return row
}
