package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/models"
)

// readCSV reads a rolegate CSV user file. The header names the columns, in
// any order; id and username are required, and the others may be left
// out (see Record for their defaults).
func readCSV(r io.Reader) (*File, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	cols, err := columnIndex(header)
	if err != nil {
		return nil, err
	}
	f := &File{Format: FormatCSV}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe) && errors.Is(err, csv.ErrFieldCount):
			f.Rows = append(f.Rows, Row{
				Ref:     fmt.Sprintf("line %d", pe.StartLine),
				Problem: fmt.Sprintf("has %d fields, want %d as in the header", len(rec), len(header)),
			})
		case err != nil:
			return nil, fmt.Errorf("read CSV: %w", err)
		default:
			line, _ := cr.FieldPos(0)
			f.Rows = append(f.Rows, csvRow(line, cols, rec))
		}
	}
}

// columnIndex maps each column name of header to its position.
func columnIndex(header []string) (map[string]int, error) {
	cols := make(map[string]int, len(header))
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		if !slices.Contains(Columns, name) {
			return nil, fmt.Errorf("CSV header: unknown column %q; the columns are %s", name, strings.Join(Columns, ", "))
		}
		if _, dup := cols[name]; dup {
			return nil, fmt.Errorf("CSV header: column %q appears twice", name)
		}
		cols[name] = i
	}
	for _, need := range []string{"id", "username"} {
		if _, ok := cols[need]; !ok {
			return nil, fmt.Errorf("CSV header: column %q is required", need)
		}
	}
	return cols, nil
}

// csvRow reads the record on line of a CSV user file.
func csvRow(line int, cols map[string]int, rec []string) Row {
	get := func(col string) string {
		if i, ok := cols[col]; ok {
			return rec[i]
		}
		return ""
	}
	row := Row{Ref: fmt.Sprintf("line %d", line)}
	u := models.User{
		Username: get("username"), Email: get("email"), FirstName: get("first_name"), LastName: get("last_name"),
		Role: get("role"), IsActive: true, PasswordHash: get("password_hash"),
	}
	var problems []string
	fail := func(col string, err error) { problems = append(problems, col+": "+err.Error()) }
	id, err := strconv.ParseInt(get("id"), 10, 64)
	if err != nil {
		fail("id", fmt.Errorf("%q is not a whole number", get("id")))
	} else {
		u.ID = id
		row.Ref += fmt.Sprintf(" (id %d)", id)
	}
	if s := get("is_active"); s != "" {
		if u.IsActive, err = strconv.ParseBool(s); err != nil {
			fail("is_active", fmt.Errorf("%q is not true or false", s))
		}
	}
	if s := get("date_joined"); s != "" {
		if u.DateJoined, err = parseTime(s); err != nil {
			fail("date_joined", err)
		}
	}
	if s := get("last_login"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			fail("last_login", err)
		}
		u.LastLogin = &t
	}
	row.User, row.Problem = u, strings.Join(problems, "; ")
	return row
}
