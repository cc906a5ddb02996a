package importer_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
)

// bulkRowsEnv names the variable that turns on TestImportManyUsers: the
// number of users to import, such as 100000.
const bulkRowsEnv = "ROLEGATE_TEST_IMPORT_ROWS"

// TestImportManyUsers times the import of a large Django export, and of
// the same file again, on every database under test. It fails if either
// takes a minute.
func TestImportManyUsers(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(bulkRowsEnv))
	if n <= 0 {
		t.Skipf("set %s=100000 to time a bulk import", bulkRowsEnv)
	}
	data := bulkFixture(t, n)
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			st := openStore(t, target)
			_, sum := importBytes(t, st, data, options(t))
			t.Logf("%s, first import: %s", target.Name, sum)
			wantCounts(t, sum, n, 0, 0)
			if sum.Elapsed > time.Minute {
				t.Errorf("first import took %v, want well under a minute", sum.Elapsed)
			}
			_, sum = importBytes(t, st, data, options(t))
			t.Logf("%s, second import: %s", target.Name, sum)
			wantCounts(t, sum, 0, n, 0)
			created, err := st.CreateUser(ctx, &models.User{Username: "after-bulk", Role: "user", PasswordHash: "x"})
			if err != nil || created.ID != int64(2*n+1) {
				t.Errorf("next user: got %v (%v), want id %d", created, err, 2*n+1)
			}
		})
	}
}

// bulkFixture is a Django export of n users with ids 2, 4, ..., 2n, all
// with one realistic password hash.
func bulkFixture(t *testing.T, n int) []byte {
	t.Helper()
	hash := djangoPBKDF2(t, "bulk-password", "IhWRlz3jz1PfcLdGoszi5R", 1000)
	roles := []string{"user", "user", "user", "staff", "admin"}
	entries := make([]map[string]any, n)
	for i := range entries {
		fields := map[string]any{
			"username": fmt.Sprintf("user%06d", i), "email": fmt.Sprintf("user%06d@example.com", i),
			"first_name": "Zoë", "last_name": fmt.Sprintf("Number %d", i), "password": hash,
			"role": roles[i%len(roles)], "is_active": i%10 != 0,
		}
		if i%3 == 0 {
			fields["last_login"] = "2024-05-06T07:08:09.123Z"
		}
		entries[i] = djangoEntry("accounts.customuser", int64(2*(i+1)), fields)
	}
	return fixture(t, entries...)
}
