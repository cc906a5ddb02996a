package importer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/importer"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

func TestReadRefusesUnreadableFiles(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"empty", " \n\t", "empty"},
		{"object", `{"model": "accounts.customuser"}`, "array"},
		{"bad JSON", `[{"model": "accounts.customuser", "pk": 1,}]`, "entry 1"},
		{"unclosed array", `[{"id": 1, "username": "a"}`, "read JSON"},
		{"after the array", `[] []`, "after the array"},
		{"unknown column", "id,username,nickname\n1,a,b\n", `unknown column "nickname"`},
		{"no id column", "username,email\na,a@example.com\n", `"id" is required`},
		{"repeated column", "id,username,ID\n1,a,1\n", "twice"},
		{"bare quote", "id,username\n1,a\"b\n", "read CSV"},
	} {
		if f, err := importer.Read(strings.NewReader(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, %v; want an error containing %q", c.name, f, err, c.want)
		}
	}
}

func TestReadCSV(t *testing.T) {
	data := "\ufeffID, Username ,email,is_active,date_joined,last_login,role\n" +
		"7,amélie,a@example.com,false,2020-01-02T03:04:05Z,2021-01-02 03:04:05,staff\n" +
		"8,bo\n" +
		"x,cy,,maybe,soon,,\n" +
		"9,\"d,e\",,,,,\n"
	f, err := importer.Read(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != importer.FormatCSV || len(f.Rows) != 4 {
		t.Fatalf("got format %q with %d rows, want csv with 4", f.Format, len(f.Rows))
	}
	first := f.Rows[0]
	if first.Ref != "line 2 (id 7)" || first.Problem != "" || first.User.Username != "amélie" || first.User.IsActive ||
		first.User.Role != "staff" || first.User.LastLogin == nil || first.User.DateJoined.Year() != 2020 {
		t.Errorf("first row: got %+v", first)
	}
	wantProblems := map[int]string{1: "has 2 fields, want 7", 2: "id: \"x\" is not a whole number; is_active: \"maybe\""}
	for i, want := range wantProblems {
		if !strings.Contains(f.Rows[i].Problem, want) {
			t.Errorf("row %d (%s): got problem %q, want %q", i, f.Rows[i].Ref, f.Rows[i].Problem, want)
		}
	}
	if !strings.Contains(f.Rows[2].Problem, "date_joined") || f.Rows[2].Ref != "line 4" {
		t.Errorf("bad dates: got %+v, want a date_joined problem on line 4", f.Rows[2])
	}
	if f.Rows[3].User.Username != "d,e" || !f.Rows[3].User.IsActive {
		t.Errorf("quoted field and default is_active: got %+v", f.Rows[3].User)
	}
}

func TestReadRolegateJSON(t *testing.T) {
	data := `[
	  {"id": 3, "username": "a", "role": "staff", "date_joined": "2020-01-02T03:04:05Z", "password_hash": "h"},
	  {"id": 4, "username": "b", "nickname": "bee"},
	  {"username": "c"},
	  {"id": "5", "username": "d"}
	]`
	f, err := importer.Read(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != importer.FormatJSON || len(f.Rows) != 4 {
		t.Fatalf("got format %q with %d rows, want json with 4", f.Format, len(f.Rows))
	}
	if r := f.Rows[0]; r.Problem != "" || r.User.ID != 3 || !r.User.IsActive || r.User.PasswordHash != "h" || r.Ref != "row 1 (id 3)" {
		t.Errorf("first row: got %+v", r)
	}
	for i, want := range map[int]string{1: "nickname", 2: "id: This field is required.", 3: "cannot read"} {
		if !strings.Contains(f.Rows[i].Problem, want) {
			t.Errorf("row %d: got problem %q, want %q", i+1, f.Rows[i].Problem, want)
		}
	}
}

// recorder is a Writer that stores nothing and imports everything.
type recorder struct{ batches []int }

func (r *recorder) ImportUsers(_ context.Context, users []*models.User) ([]store.ImportOutcome, error) {
	r.batches = append(r.batches, len(users))
	return make([]store.ImportOutcome, len(users)), nil
}

func TestImportBatchesAndReportsProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,username\n0,zero\n")
	for i := 1; i <= 25; i++ {
		fmt.Fprintf(&b, "%d,user%d\n", i, i)
	}
	f, err := importer.Read(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	w := &recorder{}
	var calls []string
	opts := importer.Options{
		HasRole: func(string) bool { return true }, DefaultRole: "user", BatchSize: 10,
		Progress: func(done, total int) { calls = append(calls, fmt.Sprintf("%d/%d", done, total)) },
	}
	sum, err := importer.Import(context.Background(), w, f.Rows, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(w.batches), "[10 10 5]"; got != want {
		t.Errorf("batches: got %s, want %s", got, want)
	}
	if got, want := strings.Join(calls, " "), "1/26 11/26 21/26 26/26"; got != want {
		t.Errorf("progress: got %s, want %s", got, want)
	}
	if want := "imported 25, unchanged 0, failed 1 (of 26 rows) in "; !strings.HasPrefix(sum.String(), want) {
		t.Errorf("summary: got %q, want it to start %q", sum, want)
	}
}

func TestImportAppliesRolesAndDefaults(t *testing.T) {
	rows := []importer.Row{
		{Ref: "a", User: models.User{ID: 1, Username: "a"}},
		{Ref: "b", User: models.User{ID: 2, Username: "b"}, Superuser: true},
		{Ref: "c", User: models.User{ID: 3, Username: "c", Role: "staff"}, Superuser: true},
		{Ref: "d", User: models.User{ID: 4, Username: "d"}, Superuser: true},
	}
	w := &recorder{}
	opts := importer.Options{HasRole: func(r string) bool { return r != "root" }, DefaultRole: "user", SuperuserRole: "admin"}
	sum, err := importer.Import(context.Background(), w, rows[:3], opts)
	if err != nil || sum.Imported != 3 {
		t.Fatalf("got %s, %v; want 3 imported", sum, err)
	}
	for i, want := range []string{"user", "admin", "staff"} {
		if got := rows[i].User.Role; got != want {
			t.Errorf("row %s: got role %q, want %q", rows[i].Ref, got, want)
		}
		if rows[i].User.DateJoined.IsZero() {
			t.Errorf("row %s: got no date_joined, want the time of the import", rows[i].Ref)
		}
	}
	opts.SuperuserRole = "root"
	sum, _ = importer.Import(context.Background(), w, rows[3:], opts)
	if len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0].Reason, `"root" (the role of superusers) is not a role`) {
		t.Errorf("superuser role missing from the policy: got %+v", sum.Failures)
	}
}
