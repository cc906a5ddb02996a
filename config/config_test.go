package config

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func load(t *testing.T, vars map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return Load(env(vars), fs, args)
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DatabaseURL != "sqlite:data/rolegate.db" || c.PolicyModel != "policy/model.conf" ||
		c.PolicyFile != "policy/policy.csv" || c.AccessTTL != 5*time.Minute || c.RefreshTTL != 24*time.Hour ||
		c.PasswordMinLength != 12 || c.DefaultRole != "user" || !c.AutoMigrate {
		t.Errorf("got %+v, want the documented defaults", c)
	}
	if c.BelowOWASP() || c.Argon2MemoryKiB != 19456 || c.Argon2Iterations != 2 {
		t.Errorf("argon2 defaults: got m=%d t=%d, want OWASP's m=19456 t=2", c.Argon2MemoryKiB, c.Argon2Iterations)
	}
}

func TestFlagsBeatEnvBeatDefaults(t *testing.T) {
	c, err := load(t, map[string]string{"ROLEGATE_ADDR": ":9000", "ROLEGATE_ACCESS_TTL": "2m"}, "--access-ttl", "90s")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9000" || c.AccessTTL != 90*time.Second {
		t.Errorf("got addr %s ttl %s, want :9000 (env) and 1m30s (flag)", c.Addr, c.AccessTTL)
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	_, err := load(t, map[string]string{
		"ROLEGATE_ACCESS_TTL":          "soon",
		"ROLEGATE_PASSWORD_MIN_LENGTH": "twelve",
	})
	if err == nil || !strings.Contains(err.Error(), "ROLEGATE_ACCESS_TTL") || !strings.Contains(err.Error(), "ROLEGATE_PASSWORD_MIN_LENGTH") {
		t.Errorf("got %v, want both bad variables named", err)
	}
	_, err = load(t, map[string]string{"ROLEGATE_DATABASE_URL": "mysql://x", "ROLEGATE_ACCESS_TTL": "48h"})
	if err == nil || strings.Count(err.Error(), "\n") < 1 || !strings.Contains(err.Error(), "ROLEGATE_DATABASE_URL") {
		t.Errorf("got %v, want one line per problem", err)
	}
}

// TestREADMEListsEverySetting keeps the README's table honest.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		if !strings.Contains(string(readme), "`"+s.Env+"`") {
			t.Errorf("README does not document %s", s.Env)
		}
	}
}

// TestListenAddressByEnvironment checks that development listens on
// loopback only, production on every interface, and ROLEGATE_ADDR wins.
func TestListenAddressByEnvironment(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{nil, "127.0.0.1:8080"},
		{map[string]string{"ROLEGATE_ENV": "production"}, ":8080"},
		{map[string]string{"ROLEGATE_ENV": "production", "ROLEGATE_ADDR": "127.0.0.1:9000"}, "127.0.0.1:9000"},
		{map[string]string{"ROLEGATE_ADDR": ":8080"}, ":8080"},
	} {
		c, err := load(t, tc.vars)
		if err != nil || c.Addr != tc.want {
			t.Errorf("%v: got %q, %v; want %q", tc.vars, c.Addr, err, tc.want)
		}
		for _, e := range c.Describe() {
			if e.Flag == "addr" && e.Value != tc.want {
				t.Errorf("%v: config print shows addr %q, want the address in use, %q", tc.vars, e.Value, tc.want)
			}
		}
	}
}

// TestProblemsNameWhereTheValueCameFrom gives the same invalid values by
// flag, variable and file: each error names the one that was used.
func TestProblemsNameWhereTheValueCameFrom(t *testing.T) {
	path := writeFile(t, "# settings\naccess-ttl: 0s\nlogin-window: -1m\n")
	_, err := load(t, map[string]string{"ROLEGATE_CONFIG": path, "ROLEGATE_ENV": "staging", "ROLEGATE_LOGIN_WINDOW": "0s"},
		"--password-min-length", "0")
	if err == nil {
		t.Fatal("got no error, want four")
	}
	for _, want := range []string{
		path + ":2: access-ttl: must be positive",
		"ROLEGATE_LOGIN_WINDOW: must be positive",
		"--password-min-length: must be between 1 and 128",
		"ROLEGATE_ENV: want development or production",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want a line %q", err, want)
		}
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 4 {
		t.Errorf("got %d lines, want 4:\n%s", got, err)
	}
	// The file's value is overridden, so its line is no longer named.
	_, err = load(t, map[string]string{"ROLEGATE_CONFIG": path, "ROLEGATE_LOGIN_WINDOW": "1m"}, "--access-ttl", "0s")
	if err == nil || !strings.Contains(err.Error(), "--access-ttl: must be positive") || strings.Contains(err.Error(), path) {
		t.Errorf("got %v, want only --access-ttl named", err)
	}
}

// TestParseAndValidationProblemsTogether: a value that does not parse
// does not hide the problems of the values that did.
func TestParseAndValidationProblemsTogether(t *testing.T) {
	_, err := load(t, map[string]string{"ROLEGATE_ACCESS_TTL": "soon", "ROLEGATE_DATABASE_URL": "mysql://x"}, "--log-level", "loud")
	if err == nil {
		t.Fatal("got no error, want three")
	}
	for _, want := range []string{
		`ROLEGATE_ACCESS_TTL: "soon" is not a duration`,
		"ROLEGATE_DATABASE_URL: want postgres://... or sqlite:PATH",
		"--log-level: want debug, info, warn or error",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want a line %q", err, want)
		}
	}
}

// TestUnparsableVariablesAreErrors: no variable that fails to parse falls
// back to the default without a word.
func TestUnparsableVariablesAreErrors(t *testing.T) {
	for _, s := range Settings() {
		for _, bad := range []string{"not a value %", "-1"} {
			c, err := load(t, map[string]string{s.Env: bad})
			if err != nil {
				if !strings.Contains(err.Error(), s.Env+": ") {
					t.Errorf("%s=%q: got %v, want an error naming %s", s.Env, bad, err, s.Env)
				}
				continue
			}
			// Accepted: it must then be the value in use, not a default.
			for _, e := range c.Describe() {
				if e.Flag == s.Flag && (e.Source != SourceEnv || e.Value != bad) {
					t.Errorf("%s=%q: accepted, but config print shows %q from %s", s.Env, bad, e.Value, e.Source)
				}
			}
		}
	}
}
func TestAuditRetention(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.AuditRetention != 90*24*time.Hour {
		t.Fatalf("default: got %v, %v; want 90 days", c.AuditRetention, err)
	}
	for v, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "720h": 720 * time.Hour, "1h": time.Hour, "0": 0, "0d": 0} {
		c, err := load(t, map[string]string{"ROLEGATE_AUDIT_RETENTION": v})
		if err != nil || c.AuditRetention != want {
			t.Errorf("ROLEGATE_AUDIT_RETENTION=%s: got %v, %v; want %v", v, c.AuditRetention, err, want)
		}
	}
	c, err = load(t, nil, "--audit-retention", "7d")
	if err != nil || c.AuditRetention != 7*24*time.Hour {
		t.Errorf("--audit-retention 7d: got %v, %v; want 7 days", c.AuditRetention, err)
	}
	c, err = load(t, map[string]string{ConfigEnv: writeFile(t, "audit-retention: 365d\n")})
	if err != nil || c.AuditRetention != 365*24*time.Hour {
		t.Errorf("audit-retention: 365d in the file: got %v, %v; want 365 days", c.AuditRetention, err)
	}
	for _, v := range []string{"ninety", "90 d", "-1d", "1.5d", "d", "59m", "-1h", "99999999d"} {
		if _, err := load(t, map[string]string{"ROLEGATE_AUDIT_RETENTION": v}); err == nil || !strings.Contains(err.Error(), "ROLEGATE_AUDIT_RETENTION") {
			t.Errorf("ROLEGATE_AUDIT_RETENTION=%s: got %v, want an error naming the variable", v, err)
		}
	}
}

// TestTenantSettings checks the defaults and bounds of the tenant
// settings; whether the creator role suits the policy is the server's
// check, at start.
func TestTenantSettings(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.InvitationTTL != 7*24*time.Hour || c.TenantCreatorRole != "owner" {
		t.Fatalf("defaults: got %v, %q, %v; want 168h and owner", c.InvitationTTL, c.TenantCreatorRole, err)
	}
	c, err = load(t, map[string]string{"ROLEGATE_INVITATION_TTL": "48h", "ROLEGATE_TENANT_CREATOR_ROLE": "founder"})
	if err != nil || c.InvitationTTL != 48*time.Hour || c.TenantCreatorRole != "founder" {
		t.Errorf("set: got %v, %q, %v", c.InvitationTTL, c.TenantCreatorRole, err)
	}
	if _, err := load(t, map[string]string{"ROLEGATE_INVITATION_TTL": "30s"}); err == nil || !strings.Contains(err.Error(), "ROLEGATE_INVITATION_TTL") {
		t.Errorf("an invitation TTL of 30s: got %v, want refused", err)
	}
	if _, err := load(t, nil, "--tenant-creator-role", ""); err == nil || !strings.Contains(err.Error(), "tenant-creator-role") {
		t.Errorf("an empty creator role: got %v, want refused", err)
	}
}
