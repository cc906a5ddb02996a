package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// keyRows runs "keys list" and returns its rows: kid, created, signs
// from, and the state's words.
func keyRows(t *testing.T, getenv func(string) string) [][]string {
	t.Helper()
	out, err := runCmd(t, getenv, "", "keys", "list")
	if err != nil {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "KID CREATED SIGNS FROM STATE" {
		t.Fatalf("keys list: got %q, want a header and keys", out)
	}
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

// keyStates maps each kid "keys list" shows to its state.
func keyStates(t *testing.T, getenv func(string) string) map[string]string {
	t.Helper()
	states := map[string]string{}
	for _, r := range keyRows(t, getenv) {
		states[r[0]] = strings.Join(r[3:], " ")
	}
	return states
}

// keyEvents returns the audit events of action, oldest first.
func keyEvents(t *testing.T, dbURL, action string) []models.AuditEvent {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.ListAuditEvents(context.Background(), models.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	return events
}

// runLogged is runCmd that returns standard output and standard error
// apart.
func runLogged(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// wantLogged checks that stderr holds a JSON log line with msg and kid.
func wantLogged(t *testing.T, stderr, msg, kid string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == msg && entry["kid"] == kid {
			return
		}
	}
	t.Errorf("log: got %q, want a JSON line with msg %q and kid %q", stderr, msg, kid)
}

// TestKeysRotateListRetire manages keys through the commands only: a
// rotation publishes a key that signs later, "keys list" shows what each
// key does, "keys retire" refuses to drop a key in use unless forced, and
// every change is logged and audited as the CLI's doing.
func TestKeysRotateListRetire(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			getenv := testEnv(t, target.URL, map[string]string{"USER": "operator-7", "ROLEGATE_LOG_FORMAT": "json"})
			if _, err := runCmd(t, getenv, "", "keys", "rotate"); err == nil {
				t.Error("rotate with no key file: got success, want an error")
			}
			if out, err := runCmd(t, getenv, "", "keys", "init"); err != nil {
				t.Fatal(out, err)
			}
			rows := keyRows(t, getenv)
			if len(rows) != 1 || rows[0][3] != "signing" || rows[0][1] != rows[0][2] {
				t.Fatalf("keys list after init: got %q, want one key signing since its creation", rows)
			}
			first := rows[0][0]

			out, stderr, err := runLogged(t, getenv, "keys", "rotate")
			if err != nil || !strings.Contains(out, "published now, signs from") {
				t.Fatalf("rotate: got %q, %v", out, err)
			}
			states := keyStates(t, getenv)
			var second string
			for kid, state := range states {
				if kid != first {
					second = kid
				}
				if want := map[bool]string{true: "signing", false: "pending"}[kid == first]; state != want {
					t.Errorf("after rotate: key %s is %q, want %q", kid, state, want)
				}
			}
			if len(states) != 2 {
				t.Fatalf("after rotate: got keys %v, want 2", states)
			}
			wantLogged(t, stderr, "signing key added", second)
			rotations := keyEvents(t, target.URL, models.AuditKeyRotate)
			if len(rotations) != 1 || rotations[0].ActorRole != models.CLIRole || rotations[0].Target != "keys/"+second ||
				rotations[0].Result != models.AuditSuccess || rotations[0].Detail["by"] != "operator-7" || rotations[0].Detail["signs_from"] == nil {
				t.Errorf("audit after rotate: got %+v, want one key.rotate by the CLI for keys/%s", rotations, second)
			}

			// The signing key is in use: refused, and nothing changes.
			before, _ := os.ReadFile(getenv("ROLEGATE_JWT_KEY_FILE"))
			_, err = runCmd(t, getenv, "", "keys", "retire", "--", first)
			if err == nil || !strings.Contains(err.Error(), "signs new tokens now") || !strings.Contains(err.Error(), "--force") {
				t.Errorf("retire the signing key: got %v, want a refusal that names --force", err)
			}
			if after, _ := os.ReadFile(getenv("ROLEGATE_JWT_KEY_FILE")); !bytes.Equal(before, after) {
				t.Error("refused retire: the key file changed")
			}
			if n := len(keyEvents(t, target.URL, models.AuditKeyRetire)); n != 0 {
				t.Errorf("refused retire: got %d key.retire events, want none", n)
			}

			// The pending key can go: it signed nothing.
			out, stderr, err = runLogged(t, getenv, "keys", "retire", "--", second)
			if err != nil || !strings.Contains(out, "retired key "+second+" (pending); key "+first+" signs now") {
				t.Fatalf("retire the pending key: got %q, %v", out, err)
			}
			wantLogged(t, stderr, "signing key retired", second)
			if states := keyStates(t, getenv); len(states) != 1 || states[first] != "signing" {
				t.Errorf("after retiring the pending key: got %v, want only %s signing", states, first)
			}
			if _, err := runCmd(t, getenv, "", "keys", "retire", "--force", "--", first); err == nil || !strings.Contains(err.Error(), "only key") {
				t.Errorf("retire the only key: got %v, want a refusal", err)
			}

			// A leaked signing key, forced out: the new key signs at once.
			if out, err := runCmd(t, getenv, "", "keys", "rotate"); err != nil {
				t.Fatal(out, err)
			}
			out, err = runCmd(t, getenv, "", "keys", "retire", "--force", "--", first)
			if err != nil || !strings.Contains(out, "signs at once, before its time") {
				t.Fatalf("forced retire: got %q, %v; want a warning that the new key signs at once", out, err)
			}
			retirements := keyEvents(t, target.URL, models.AuditKeyRetire)
			if len(retirements) != 2 || retirements[1].Target != "keys/"+first || retirements[1].Detail["forced"] != true ||
				retirements[1].Detail["state"] != "signing" || retirements[0].Detail["forced"] != false {
				t.Errorf("audit after retiring: got %+v, want the pending key, then %s forced while signing", retirements, first)
			}
			states = keyStates(t, getenv)
			_, firstLeft := states[first]
			if len(states) != 1 || firstLeft || slices.Collect(maps.Values(states))[0] != "signing" {
				t.Errorf("after the forced retire: got %v, want only the new key, signing", states)
			}
		})
	}
}

// TestKeyChangesNeedTheAuditTrail checks that a key change is refused,
// and the key file left alone, when the database is out of reach.
func TestKeyChangesNeedTheAuditTrail(t *testing.T) {
	getenv := testEnv(t, "postgres://postgres@127.0.0.1:1/nowhere?connect_timeout=2", nil)
	if out, err := runCmd(t, getenv, "", "keys", "init"); err != nil {
		t.Fatal(out, err)
	}
	path := getenv("ROLEGATE_JWT_KEY_FILE")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runCmd(t, getenv, "", "keys", "rotate")
	if err == nil || !strings.Contains(err.Error(), "the key file is unchanged") {
		t.Errorf("rotate without a database: got %v, want a refusal", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("rotate without a database: the key file changed")
	}
}

// TestRetireKIDBeginningWithDash checks that a key id beginning with "-",
// which base64url allows, is read as the argument after --, and that
// without -- the error says so instead of only naming a flag.
func TestRetireKIDBeginningWithDash(t *testing.T) {
	getenv := func(string) string { return "" }
	_, err := runCmd(t, getenv, "", "keys", "retire", "-Xk2")
	if err == nil || !strings.Contains(err.Error(), "rolegate keys retire -- KID") {
		t.Errorf("retire -Xk2: got %v, want a hint to put the KID after --", err)
	}
}
