// Package importer moves users into rolegate from files: the seed's Django
// dumpdata export, and rolegate's own CSV and JSON user files. It reads a
// file into rows, validates each row on its own, and hands the good ones to
// the store in batches, so that one bad row is reported and skipped
// without stopping the rest.
package importer

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rolegate/rolegate/models"
)

// Columns are the fields of a rolegate user file, in order: the user as the
// API shows it, plus the password hash.
var Columns = []string{
	"id", "username", "email", "first_name", "last_name", "role",
	"is_active", "date_joined", "last_login", "password_hash",
}

// Record is one user in a rolegate JSON user file. Pointer fields may be
// left out: is_active defaults to true, date_joined to the time of the
// import, and role to the default role.
type Record struct {
	ID           *int64     `json:"id"`
	Username     string     `json:"username"`
	Email        string     `json:"email"`
	FirstName    string     `json:"first_name"`
	LastName     string     `json:"last_name"`
	Role         string     `json:"role"`
	IsActive     *bool      `json:"is_active"`
	DateJoined   *time.Time `json:"date_joined"`
	LastLogin    *time.Time `json:"last_login"`
	PasswordHash string     `json:"password_hash"`
}

func recordOf(u *models.User) Record {
	id, active, joined := u.ID, u.IsActive, u.DateJoined.UTC()
	r := Record{
		ID: &id, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Role: u.Role, IsActive: &active, DateJoined: &joined, PasswordHash: u.PasswordHash,
	}
	if u.LastLogin != nil {
		t := u.LastLogin.UTC()
		r.LastLogin = &t
	}
	return r
}

// EncodeJSON writes users as a rolegate JSON user file, which Read reads
// back. It holds password hashes: treat it as a secret.
func EncodeJSON(w io.Writer, users []*models.User) error {
	records := make([]Record, len(users))
	for i, u := range users {
		records[i] = recordOf(u)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(records)
}

// EncodeCSV writes users as a rolegate CSV user file with a header row,
// which Read reads back. It holds password hashes: treat it as a secret.
func EncodeCSV(w io.Writer, users []*models.User) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, u := range users {
		lastLogin := ""
		if u.LastLogin != nil {
			lastLogin = u.LastLogin.UTC().Format(time.RFC3339Nano)
		}
		err := cw.Write([]string{
			strconv.FormatInt(u.ID, 10), u.Username, u.Email, u.FirstName, u.LastName, u.Role,
			strconv.FormatBool(u.IsActive), u.DateJoined.UTC().Format(time.RFC3339Nano), lastLogin, u.PasswordHash,
		})
		if err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// timeLayouts are the forms a timestamp may take: RFC 3339 as Django and
// rolegate write it, and the same without a zone (Django with USE_TZ off),
// which is read as UTC. A space may replace the T.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time such as 2024-01-31T12:00:00Z", s)
}
