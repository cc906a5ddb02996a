package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// checkAnswer is the body of POST /v1/authz/check.
type checkAnswer struct {
	Allowed       bool     `json:"allowed"`
	Rule          []string `json:"rule"`
	PolicyVersion string   `json:"policy_version"`
}

type batchAnswer struct {
	Results []struct {
		Allowed bool     `json:"allowed"`
		Rule    []string `json:"rule"`
	} `json:"results"`
	PolicyVersion string `json:"policy_version"`
}

// userID returns the id of username.
func (e *env) userID(t *testing.T, username string) int64 {
	t.Helper()
	u, err := e.srv.Store.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// check asks POST /v1/authz/check with a raw JSON body.
func (e *env) check(t *testing.T, token, body string) (*http.Response, checkAnswer) {
	t.Helper()
	var out checkAnswer
	resp := e.do(t, http.MethodPost, "/v1/authz/check", token, json.RawMessage(body), &out)
	return resp, out
}

func TestCheckForTheCaller(t *testing.T) {
	e := start(t, false)
	user := e.login(t, "ann", "user")
	id := e.userID(t, "ann")

	resp, got := e.check(t, user, fmt.Sprintf(`{"resource": "users", "action": "read", "owner_id": %d}`, id))
	if resp.StatusCode != http.StatusOK || !got.Allowed || !slices.Equal(got.Rule, []string{"user", "users", "read", "own"}) {
		t.Errorf("user reads own account: got %d %+v, want 200 allowed by user, users, read, own", resp.StatusCode, got)
	}
	version := e.srv.Policy.Current().Version()
	if got.PolicyVersion != version || resp.Header.Get("X-Policy-Version") != version {
		t.Errorf("versions: got body %s and header %s, want %s", got.PolicyVersion, resp.Header.Get("X-Policy-Version"), version)
	}

	for _, body := range []string{
		fmt.Sprintf(`{"resource": "users", "action": "read", "owner_id": %d}`, id+100),
		`{"resource": "users", "action": "delete"}`,
		`{"resource": "no such thing", "action": "read"}`,
	} {
		resp, got := e.check(t, user, body)
		if resp.StatusCode != http.StatusOK || got.Allowed || got.Rule == nil || len(got.Rule) != 0 {
			t.Errorf("%s: got %d %+v, want 200, not allowed, rule []", body, resp.StatusCode, got)
		}
	}

	if resp, _ := e.check(t, "", `{"resource": "users", "action": "read"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: got %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.check(t, "not.a.token", `{"resource": "users", "action": "read"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("with a bad token: got %d, want 401", resp.StatusCode)
	}
}

// TestCheckUsesTheRoleAsStoredNow changes the caller's role between two
// checks with one token: the second answer must follow the new role.
func TestCheckUsesTheRoleAsStoredNow(t *testing.T) {
	e := start(t, false)
	token := e.login(t, "bob", "user")
	body := `{"resource": "users", "action": "list"}`
	if _, got := e.check(t, token, body); got.Allowed {
		t.Fatal("user lists users: got allowed, want denied")
	}
	staff := "staff"
	if _, err := e.srv.Store.UpdateUser(context.Background(), e.userID(t, "bob"), models.UserPatch{Role: &staff}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, got := e.check(t, token, body); !got.Allowed {
		t.Error("after promotion to staff: got denied, want allowed")
	}
}

func TestCheckAnotherSubject(t *testing.T) {
	e := start(t, false)
	admin := e.login(t, "root", "admin")
	staff := e.login(t, "sam", "staff")
	e.login(t, "uma", "user")
	staffID, userID := e.userID(t, "sam"), e.userID(t, "uma")

	resp, got := e.check(t, admin, fmt.Sprintf(`{"resource": "users", "action": "list", "subject": {"user_id": %d}}`, staffID))
	if resp.StatusCode != http.StatusOK || !got.Allowed || !slices.Equal(got.Rule, []string{"staff", "users", "list", "any"}) {
		t.Errorf("admin asks whether staff may list users: got %d %+v, want 200 allowed by the staff rule", resp.StatusCode, got)
	}
	resp, got = e.check(t, admin, fmt.Sprintf(`{"resource": "users", "action": "update", "owner_id": %d, "subject": {"user_id": %d}}`, userID, userID))
	if resp.StatusCode != http.StatusOK || !got.Allowed {
		t.Errorf("admin asks whether a user may update their own account: got %d %+v, want allowed", resp.StatusCode, got)
	}
	resp, got = e.check(t, admin, fmt.Sprintf(`{"resource": "admin_area", "action": "read", "subject": {"user_id": %d}}`, userID))
	if resp.StatusCode != http.StatusOK || got.Allowed {
		t.Errorf("admin asks whether a user may read the admin area: got %d %+v, want 200 not allowed", resp.StatusCode, got)
	}

	var denied struct{ Code, Resource, Action string }
	resp = e.do(t, http.MethodPost, "/v1/authz/check", staff,
		json.RawMessage(fmt.Sprintf(`{"resource": "users", "action": "list", "subject": {"user_id": %d}}`, userID)), &denied)
	if resp.StatusCode != http.StatusForbidden || denied.Code != "permission_denied" || denied.Resource != "authz" || denied.Action != "check_others" {
		t.Errorf("staff names another subject: got %d %+v, want 403 for authz check_others", resp.StatusCode, denied)
	}
	// Staff may not probe ids either: an unknown id is the same 403.
	if resp, _ := e.check(t, staff, `{"resource": "users", "action": "list", "subject": {"user_id": 99999}}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff names an unknown subject: got %d, want 403", resp.StatusCode)
	}
	// Naming oneself is not asking about someone else.
	if resp, got := e.check(t, staff, fmt.Sprintf(`{"resource": "users", "action": "list", "subject": {"user_id": %d}}`, staffID)); resp.StatusCode != http.StatusOK || !got.Allowed {
		t.Errorf("staff names themselves: got %d %+v, want 200 allowed", resp.StatusCode, got)
	}
	if resp, _ := e.check(t, admin, `{"resource": "users", "action": "list", "subject": {"user_id": 99999}}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("admin names an unknown subject: got %d, want 404", resp.StatusCode)
	}
}

// TestCheckADeactivatedSubject: a deactivated user's requests are
// anonymous, so that is how the policy is asked about them.
func TestCheckADeactivatedSubject(t *testing.T) {
	e := start(t, false)
	admin := e.login(t, "root", "admin")
	e.login(t, "gone", "staff")
	id := e.userID(t, "gone")
	inactive := false
	if _, err := e.srv.Store.UpdateUser(context.Background(), id, models.UserPatch{IsActive: &inactive}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
	resp, got := e.check(t, admin, fmt.Sprintf(`{"resource": "users", "action": "list", "subject": {"user_id": %d}}`, id))
	if resp.StatusCode != http.StatusOK || got.Allowed {
		t.Errorf("deactivated staff lists users: got %d %+v, want 200 not allowed", resp.StatusCode, got)
	}
}

func TestCheckRefusesBadInput(t *testing.T) {
	e := start(t, false)
	admin := e.login(t, "root", "admin")
	long := strings.Repeat("é", 129)
	cases := []struct{ body, field string }{
		{`{}`, "resource"},
		{`{"action": "read"}`, "resource"},
		{`{"resource": "users"}`, "action"},
		{`{"resource": "", "action": "read"}`, "resource"},
		{`{"resource": "users", "action": ""}`, "action"},
		{`{"resource": "` + long + `", "action": "read"}`, "resource"},
		{`{"resource": "users", "action": "` + long + `"}`, "action"},
		{`{"resource": 5, "action": "read"}`, "resource"},
		{`{"resource": null, "action": "read"}`, "resource"},
		{`{"resource": "users", "action": "read", "owner_id": 0}`, "owner_id"},
		{`{"resource": "users", "action": "read", "owner_id": -3}`, "owner_id"},
		{`{"resource": "users", "action": "read", "owner_id": "3"}`, "owner_id"},
		{`{"resource": "users", "action": "read", "owner_id": 1.5}`, "owner_id"},
		{`{"resource": "users", "action": "read", "owner_id": 99999999999999999999}`, "owner_id"},
		{`{"resource": "users", "action": "read", "owner": 3}`, "owner"},
		{`{"resource": "users", "action": "read", "Resource": "x"}`, "Resource"},
		{`{"resource": "users", "resource": "policy", "action": "read"}`, "resource"},
		{`{"resource": "users", "action": "read", "subject": null}`, "subject"},
		{`{"resource": "users", "action": "read", "subject": 7}`, "subject"},
		{`{"resource": "users", "action": "read", "subject": {}}`, "subject.user_id"},
		{`{"resource": "users", "action": "read", "subject": {"user_id": 0}}`, "subject.user_id"},
		{`{"resource": "users", "action": "read", "subject": {"user_id": "2"}}`, "subject.user_id"},
		{`{"resource": "users", "action": "read", "subject": {"user_id": null}}`, "subject.user_id"},
		{`{"resource": "users", "action": "read", "subject": {"USER_ID": 2}}`, "subject.USER_ID"},
		{`{"resource": "users", "action": "read", "subject": {"user_id": 2, "user_id": 1}}`, "subject.user_id"},
		{`{"resource": "users", "action": "read", "subject": {"user_id": 2, "role": "admin"}}`, "subject.role"},
	}
	for _, c := range cases {
		var fields map[string]any
		resp := e.do(t, http.MethodPost, "/v1/authz/check", admin, json.RawMessage(c.body), &fields)
		if _, ok := fields[c.field]; resp.StatusCode != http.StatusBadRequest || !ok {
			t.Errorf("%s: got %d %v, want 400 naming %s", c.body, resp.StatusCode, fields, c.field)
		}
	}
	for _, body := range []string{`[]`, `"users"`, `{"resource": "users", "action": "read"} {}`} {
		resp, _ := e.raw(t, http.MethodPost, "/v1/authz/check", admin, "application/json", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", body, resp.StatusCode)
		}
	}
	if resp, _ := e.raw(t, http.MethodPost, "/v1/authz/check", admin, "application/x-www-form-urlencoded", "resource=users&action=read"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form: got %d, want 415", resp.StatusCode)
	}
	edge := strings.Repeat("é", 128)
	if resp, got := e.check(t, admin, `{"resource": "`+edge+`", "action": "`+edge+`"}`); resp.StatusCode != http.StatusOK || got.Allowed {
		t.Errorf("names of 128 characters: got %d %+v, want 200 not allowed", resp.StatusCode, got)
	}
}

// raw sends body as it is and returns the response and its body.
func (e *env) raw(t *testing.T, method, path, token, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if !json.Valid(data) {
		t.Errorf("%s %s: body %q is not JSON", method, path, data)
	}
	return resp, string(data)
}

func TestBatchCheck(t *testing.T) {
	e := start(t, false)
	admin := e.login(t, "root", "admin")
	staff := e.login(t, "sam", "staff")
	e.login(t, "uma", "user")
	userID := e.userID(t, "uma")

	body := fmt.Sprintf(`{"checks": [
		{"resource": "users", "action": "list"},
		{"resource": "users", "action": "delete", "owner_id": 5},
		{"resource": "users", "action": "read", "owner_id": %[1]d, "subject": {"user_id": %[1]d}},
		{"resource": "users", "action": "list", "subject": {"user_id": %[1]d}},
		{"resource": "user_area", "action": "read", "subject": {"user_id": %[1]d}}
	]}`, userID)
	var got batchAnswer
	resp := e.do(t, http.MethodPost, "/v1/authz/check/batch", admin, json.RawMessage(body), &got)
	want := []bool{true, true, true, false, true}
	if resp.StatusCode != http.StatusOK || len(got.Results) != len(want) {
		t.Fatalf("batch: got %d %+v, want 200 with %d results", resp.StatusCode, got, len(want))
	}
	for i, r := range got.Results {
		if r.Allowed != want[i] || r.Rule == nil || (len(r.Rule) > 0) != r.Allowed {
			t.Errorf("result %d: got %+v, want allowed=%v with a rule only when allowed", i, r, want[i])
		}
	}
	if got.Results[2].Rule[0] != "user" {
		t.Errorf("result 2: got rule %v, want the user's rule", got.Results[2].Rule)
	}
	if v := e.srv.Policy.Current().Version(); got.PolicyVersion != v || resp.Header.Get("X-Policy-Version") != v {
		t.Errorf("versions: got %s and header %s, want %s", got.PolicyVersion, resp.Header.Get("X-Policy-Version"), v)
	}

	// One check about someone else refuses the whole batch for staff.
	resp = e.do(t, http.MethodPost, "/v1/authz/check/batch", staff, json.RawMessage(body), nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff batch naming others: got %d, want 403", resp.StatusCode)
	}
	missing := `{"checks": [{"resource": "users", "action": "list"}, {"resource": "users", "action": "list", "subject": {"user_id": 99999}}]}`
	if resp := e.do(t, http.MethodPost, "/v1/authz/check/batch", admin, json.RawMessage(missing), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("batch naming an unknown user: got %d, want 404", resp.StatusCode)
	}
}

func checks(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = `{"resource": "users", "action": "list"}`
	}
	return `{"checks": [` + strings.Join(items, ",") + `]}`
}

func TestBatchLimits(t *testing.T) {
	e := start(t, false)
	staff := e.login(t, "sam", "staff")
	var got batchAnswer
	if resp := e.do(t, http.MethodPost, "/v1/authz/check/batch", staff, json.RawMessage(checks(100)), &got); resp.StatusCode != http.StatusOK || len(got.Results) != 100 {
		t.Errorf("100 checks: got %d with %d results, want 200 with 100", resp.StatusCode, len(got.Results))
	}
	cases := []struct{ body, field string }{
		{checks(101), "checks"},
		{checks(0), "checks"},
		{`{}`, "checks"},
		{`{"checks": null}`, "checks"},
		{`{"checks": {}}`, "checks"},
		{`{"checks": [{"resource": "users", "action": "list"}], "extra": 1}`, "extra"},
		{`{"checks": [{"resource": "users", "action": "list"}, {"resource": "users"}]}`, "checks[1].action"},
		{`{"checks": [{"resource": "users", "action": "list"}, null]}`, "checks[1]"},
		{`{"checks": [7]}`, "checks[0]"},
		{`{"checks": [{"resource": "users", "action": "list", "subject": {"id": 1}}]}`, "checks[0].subject.id"},
		{`{"checks": [{"resource": "users", "action": "list", "owner_id": -1}]}`, "checks[0].owner_id"},
	}
	for _, c := range cases {
		var fields map[string]any
		resp := e.do(t, http.MethodPost, "/v1/authz/check/batch", staff, json.RawMessage(c.body), &fields)
		if _, ok := fields[c.field]; resp.StatusCode != http.StatusBadRequest || !ok {
			t.Errorf("%.80s: got %d %v, want 400 naming %s", c.body, resp.StatusCode, fields, c.field)
		}
	}
}

// TestBatchIsOnePolicyAcrossReloads reloads in a loop while batches run.
// Every batch asks the one question the reloads flip, many times: all its
// answers must be the decision of the version it reports.
func TestBatchIsOnePolicyAcrossReloads(t *testing.T) {
	e := start(t, false)
	staff := e.login(t, "sam", "staff")
	without := e.read(t, e.policyFile)
	os.Remove(e.testsFile) // the two policies disagree about this cell
	with := without + "p, staff, admin_area, read, any\n"
	replace(t, e.policyFile, with)
	e.srv.Policy.Reload(context.Background(), "test")
	grantVersion := e.srv.Policy.Current().Version()

	items := make([]string, 100)
	for i := range items {
		items[i] = `{"resource": "admin_area", "action": "read"}`
		if i%10 == 0 {
			items[i] = `{"resource": "users", "action": "list"}` // allowed by both
		}
	}
	body := []byte(`{"checks": [` + strings.Join(items, ",") + `]}`)

	var stop atomic.Bool
	var checked atomic.Int64
	var versions sync.Map
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for range 6 {
		wg.Go(func() {
			for !stop.Load() {
				resp, got, err := postBatch(client, e.base, staff, body)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode != http.StatusOK || len(got.Results) != len(items) {
					t.Errorf("got %d with %d results, want 200 with %d", resp.StatusCode, len(got.Results), len(items))
					return
				}
				if h := resp.Header.Get("X-Policy-Version"); h != got.PolicyVersion {
					t.Errorf("got header version %s and body version %s, want one", h, got.PolicyVersion)
				}
				versions.Store(got.PolicyVersion, true)
				granted := got.PolicyVersion == grantVersion
				for i, r := range got.Results {
					if r.Allowed != (granted || i%10 == 0) {
						t.Errorf("result %d: got allowed=%v under policy %s, want that policy's decision", i, r.Allowed, got.PolicyVersion)
						return
					}
				}
				checked.Add(1)
			}
		})
	}
	// Reload until both enough reloads and enough checked batches under
	// both versions have happened, however slow the machine; bounded.
	seenVersions := func() int {
		n := 0
		versions.Range(func(any, any) bool { n++; return true })
		return n
	}
	reloads := 0
	for ; reloads < 60 || checked.Load() < 20 || seenVersions() < 2; reloads++ {
		if reloads == 5000 {
			t.Fatalf("after %d reloads only %d batches were checked", reloads, checked.Load())
		}
		content := without
		if reloads%2 == 1 {
			content = with
		}
		replace(t, e.policyFile, content)
		if res := e.srv.Policy.Reload(context.Background(), "test"); !res.OK {
			t.Fatalf("reload %d: %+v", reloads, res)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d batches of %d checks across %d reloads", checked.Load(), len(items), reloads)
}

// postBatch is POST /v1/authz/check/batch for goroutines other than the
// test's, which must not call t.Fatal.
func postBatch(client *http.Client, base, token string, body []byte) (*http.Response, batchAnswer, error) {
	var got batchAnswer
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/authz/check/batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, got, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return nil, got, fmt.Errorf("batch answer: %w", err)
	}
	return resp, got, nil
}
