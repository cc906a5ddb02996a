package importer

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// Writer stores batches of validated users that keep their ids.
// *store.Store is one.
type Writer interface {
	// ImportUsers returns one outcome per user, in order, or an error if
	// nothing of the batch was stored.
	ImportUsers(ctx context.Context, users []*models.User) ([]store.ImportOutcome, error)
}

// Options say how rows become users.
type Options struct {
	// HasRole reports whether the policy defines a role.
	HasRole func(role string) bool
	// DefaultRole is the role of a row that names none.
	DefaultRole string
	// SuperuserRole is the role of a Django superuser whose row names none.
	SuperuserRole string
	// StaffRole is the role of a Django staff member (is_staff, not a
	// superuser) whose row names none; DefaultRole when "".
	StaffRole string
	// HasTenantRole and HasGroup report whether the policy defines a
	// tenant role and a group. A membership naming a role or a group
	// that the policy does not define fails.
	HasTenantRole func(role string) bool
	HasGroup      func(name string) bool
	// BatchSize is how many users each transaction writes: 1000 when 0,
	// and at most MaxBatchSize.
	BatchSize int
	// Progress, if set, is called with how many rows are done after each
	// batch.
	Progress func(done, total int)
}

// MaxBatchSize keeps each transaction short, well within the store's
// operation timeout, and its lookup of existing users within SQLite's
// limit of 32,766 parameters.
const MaxBatchSize = 5000

// MaxID is the largest id imported: the largest integer a JavaScript
// client reads exactly, far below where the id sequence would run out.
const MaxID = 1<<53 - 1

// maxHashLength is the width of users.password_hash.
const maxHashLength = 255

// Failure is a row that was not imported, and why.
type Failure struct {
	Ref    string
	Reason string
	entry  int // the row's place in the file, to order failures by
}

// Warning is a row that was imported but needs an administrator's look,
// and why: its password hash can never be verified, so its user cannot
// log in until someone sets a password.
type Warning struct {
	Ref    string
	Reason string
}

// Revival is a row imported under the id of a deleted user.
type Revival struct {
	Ref string
	ID  int64
}

// Summary is what an import did.
type Summary struct {
	Total     int
	Imported  int // including the revivals
	Unchanged int
	Failures  []Failure // in file order
	Warnings  []Warning // in file order; each row is also counted in Imported
	// Revived are the imported rows whose id belonged to a deleted user,
	// in file order. Each is a new account: tokens issued to the deleted
	// user stay refused.
	Revived []Revival
	Elapsed time.Duration
	// Tenants, Members and GroupMembers count a Django export's tenant
	// layer (tenants.tenant, tenants.tenantuser, and users' groups), and
	// Groups its auth.group entries, which are read but not stored: the
	// policy defines groups. Failures lists their failed rows too.
	Tenants, Members, GroupMembers Tally
	Groups                         Tally
}

// Tally counts what became of one kind of row.
type Tally struct {
	Total, Imported, Unchanged, Failed int
}

func (t Tally) String() string {
	return fmt.Sprintf("imported %d, unchanged %d, failed %d", t.Imported, t.Unchanged, t.Failed)
}

// Rows is how many rows the file held: users, tenants, memberships,
// groups, and the users' group memberships.
func (s Summary) Rows() int {
	return s.Total + s.Tenants.Total + s.Members.Total + s.GroupMembers.Total + s.Groups.Total
}

// userFailures is how many of the failures are users'.
func (s Summary) userFailures() int {
	return len(s.Failures) - s.Tenants.Failed - s.Members.Failed - s.GroupMembers.Failed - s.Groups.Failed
}

// tenantLayer reports whether the import read any of the tenant layer.
func (s Summary) tenantLayer() bool {
	return s.Tenants.Total+s.Members.Total+s.GroupMembers.Total+s.Groups.Total > 0
}

// String is the summary line the command prints.
func (s Summary) String() string {
	revived := ""
	if len(s.Revived) > 0 {
		revived = fmt.Sprintf(" (%d under the id of a deleted user)", len(s.Revived))
	}
	line := fmt.Sprintf("imported %d%s, unchanged %d, failed %d (of %d rows) in %.1fs",
		s.Imported, revived, s.Unchanged, s.userFailures(), s.Total, s.Elapsed.Seconds())
	if n := len(s.Warnings); n > 0 {
		line += fmt.Sprintf("; %d imported with a password hash that can never be verified", n)
	}
	if s.tenantLayer() {
		line += fmt.Sprintf("\ntenants: %s\ntenant memberships: %s\ngroup memberships: %s\ngroups: %d read, failed %d (their permissions are not imported: see --print-policy)",
			s.Tenants, s.Members, s.GroupMembers, s.Groups.Total, s.Groups.Failed)
	}
	return line
}

// Import validates rows and writes the good ones in batches. A row that
// fails validation, or that conflicts with a stored user, is reported in
// the summary and skipped. A row whose user is already stored with the
// same id and username counts as unchanged and is left alone, so importing
// a file again changes nothing. An error means the database failed; the
// batches written before it stay written, and the summary counts them.
func Import(ctx context.Context, w Writer, rows []Row, opts Options) (Summary, error) {
	sum, _, err := importUsers(ctx, w, rows, opts)
	return sum, err
}

// importUsers is Import, and also returns which rows' users are stored:
// imported, revived or unchanged.
func importUsers(ctx context.Context, w Writer, rows []Row, opts Options) (Summary, []bool, error) {
	start := time.Now()
	sum := Summary{Total: len(rows)}
	stored := make([]bool, len(rows))
	reasons := make([]string, len(rows))
	warnings := make([]string, len(rows))
	valid := validate(rows, opts, reasons)
	progress := opts.Progress
	if progress == nil {
		progress = func(int, int) {}
	}
	done := len(rows) - len(valid)
	progress(done, len(rows))
	var err error
	for _, batch := range batches(valid, opts.BatchSize) {
		if err = writeBatch(ctx, w, rows, batch, reasons, warnings, &sum); err != nil {
			break
		}
		for _, i := range batch {
			stored[i] = reasons[i] == ""
		}
		done += len(batch)
		progress(done, len(rows))
	}
	for i, reason := range reasons {
		if reason != "" {
			sum.Failures = append(sum.Failures, Failure{Ref: rows[i].Ref, Reason: reason, entry: rows[i].entry})
		}
		if warnings[i] != "" {
			sum.Warnings = append(sum.Warnings, Warning{Ref: rows[i].Ref, Reason: warnings[i]})
		}
	}
	sum.Elapsed = time.Since(start)
	return sum, stored, err
}

// batches splits the indexes of valid rows into batches of size n.
func batches(valid []int, n int) [][]int {
	if n <= 0 {
		n = 1000
	}
	n = min(n, MaxBatchSize)
	var out [][]int
	for len(valid) > 0 {
		k := min(n, len(valid))
		out = append(out, valid[:k])
		valid = valid[k:]
	}
	return out
}

// writeBatch stores the rows at the indexes in batch, and records each
// outcome in sum or, for a conflict, in reasons; an imported row whose
// password hash can never be verified gets a warning.
func writeBatch(ctx context.Context, w Writer, rows []Row, batch []int, reasons, warnings []string, sum *Summary) error {
	users := make([]*models.User, len(batch))
	for j, i := range batch {
		users[j] = &rows[i].User
	}
	outcomes, err := w.ImportUsers(ctx, users)
	if err != nil {
		return fmt.Errorf("write %s to %s: %w", rows[batch[0]].Ref, rows[batch[len(batch)-1]].Ref, err)
	}
	for j, o := range outcomes {
		switch o.Result {
		case store.Imported:
			sum.Imported++
			warnings[batch[j]] = hashWarning(&rows[batch[j]].User)
		case store.Revived:
			sum.Imported++
			sum.Revived = append(sum.Revived, Revival{Ref: rows[batch[j]].Ref, ID: users[j].ID})
			warnings[batch[j]] = hashWarning(&rows[batch[j]].User)
		case store.Unchanged:
			sum.Unchanged++
		default:
			reasons[batch[j]] = o.Reason
		}
	}
	return nil
}

// hashWarning says why u can never log in with a password, or "".
func hashWarning(u *models.User) string {
	if err := auth.CheckStoredHash(u.PasswordHash); err != nil {
		return fmt.Sprintf("password: %v; %s cannot log in until a password is set (rolegate users set-password %s --password-stdin)",
			err, u.Username, u.Username)
	}
	return ""
}

// validate completes and checks each row, records why a row is refused in
// reasons, and returns the indexes of the rows to write. A row repeating
// the id or username of an earlier good row, or a username that looks the
// same, is refused.
func validate(rows []Row, opts Options, reasons []string) []int {
	now := time.Now().UTC()
	bySkeleton := map[string]int{}
	byID := map[int64]string{}
	var valid []int
	for i := range rows {
		row := &rows[i]
		reasons[i] = opts.check(row, now)
		if reasons[i] != "" {
			continue
		}
		key := account.UsernameSkeleton(row.User.Username)
		if first, dup := bySkeleton[key]; dup {
			verb := "looks like that of"
			if account.UsernameKey(rows[first].User.Username) == account.UsernameKey(row.User.Username) {
				verb = "repeats"
			}
			reasons[i] = fmt.Sprintf("username: %q %s %s", row.User.Username, verb, rows[first].Ref)
			continue
		}
		if first, dup := byID[row.User.ID]; dup {
			reasons[i] = fmt.Sprintf("id: %d repeats %s", row.User.ID, first)
			continue
		}
		bySkeleton[key], byID[row.User.ID] = i, row.Ref
		valid = append(valid, i)
	}
	return valid
}

// check completes row's user with defaults and returns why it cannot be
// imported, or "". The rules are the API's, and roles must be the
// policy's.
func (o Options) check(row *Row, now time.Time) string {
	if row.Problem != "" {
		return row.Problem
	}
	u := &row.User
	u.Username = account.NormalizeUsername(u.Username)
	roleFrom := ""
	if u.Role == "" {
		switch {
		case row.Superuser:
			u.Role, roleFrom = o.SuperuserRole, " (the role of superusers)"
		case row.Staff && o.StaffRole != "":
			u.Role, roleFrom = o.StaffRole, " (the role of staff)"
		default:
			u.Role, roleFrom = o.DefaultRole, " (the default role)"
		}
	}
	if u.DateJoined.IsZero() {
		u.DateJoined = now
	}
	var problems []string
	add := func(field string, msgs ...string) {
		for _, msg := range msgs {
			problems = append(problems, field+": "+msg)
		}
	}
	if u.ID < 1 || u.ID > MaxID {
		add("id", fmt.Sprintf("%d is not between 1 and %d", u.ID, int64(MaxID)))
	}
	invalid := models.FieldsOf(account.Validate(u.Patch()))
	for _, field := range account.Fields {
		add(field, invalid[field]...)
	}
	if o.HasRole == nil || !o.HasRole(u.Role) {
		add("role", fmt.Sprintf("%q%s is not a role the policy defines", u.Role, roleFrom))
	}
	if utf8.RuneCountInString(u.PasswordHash) > maxHashLength {
		add("password", fmt.Sprintf("the hash is longer than %d characters", maxHashLength))
	}
	return strings.Join(problems, "; ")
}
