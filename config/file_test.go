package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rolegate.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFlagsBeatEnvBeatFileBeatDefaults(t *testing.T) {
	path := writeFile(t, "# settings\naddr: \":7000\"\naccess-ttl: 3m\nrefresh-ttl: 48h\ndefault-role: staff\n")
	c, err := load(t, map[string]string{"ROLEGATE_ACCESS_TTL": "2m", "ROLEGATE_DEFAULT_ROLE": "user"},
		"--config", path, "--default-role", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":7000" || c.AccessTTL != 2*time.Minute || c.RefreshTTL != 48*time.Hour || c.DefaultRole != "admin" || c.JWTIssuer != "rolegate" {
		t.Errorf("got addr %s access %s refresh %s role %s issuer %s, want :7000 (file), 2m (env), 48h (file), admin (flag), rolegate (default)",
			c.Addr, c.AccessTTL, c.RefreshTTL, c.DefaultRole, c.JWTIssuer)
	}
	want := map[string]Source{"addr": SourceFile, "access-ttl": SourceEnv, "refresh-ttl": SourceFile, "default-role": SourceFlag, "jwt-issuer": SourceDefault}
	for _, e := range c.Describe() {
		if w, ok := want[e.Flag]; ok && e.Source != w {
			t.Errorf("%s: got source %s, want %s", e.Flag, e.Source, w)
		}
	}
}

func TestConfigFileFromTheEnvironment(t *testing.T) {
	path := writeFile(t, "addr: 127.0.0.1:7001\n")
	c, err := load(t, map[string]string{"ROLEGATE_CONFIG": path})
	if err != nil || c.Addr != "127.0.0.1:7001" || c.ConfigFile != path {
		t.Errorf("got addr %q file %q, %v; want 127.0.0.1:7001 from %s", c.Addr, c.ConfigFile, err, path)
	}
}

func TestConfigFileProblemsNameTheirLines(t *testing.T) {
	path := writeFile(t, "addr: :7000\ndatabase-urll: sqlite:x.db\naccess-ttl: soon\naddr: :7002\npolicy-file: [a, b]\n")
	_, err := load(t, map[string]string{"ROLEGATE_PASSWORD_MIN_LENGTH": "twelve"}, "--config", path, "--refresh-ttl", "never")
	if err == nil {
		t.Fatal("got no error, want every problem")
	}
	for _, want := range []string{
		path + `:2: unknown setting "database-urll"`,
		path + `:3: access-ttl: "soon" is not a duration`,
		path + `:4: "addr" is already set on line 1`,
		path + `:5: policy-file: want a single value`,
		"ROLEGATE_PASSWORD_MIN_LENGTH: ",
		"--refresh-ttl: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want a line containing %q", err, want)
		}
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 6 {
		t.Errorf("got %d lines, want 6 (one per problem):\n%s", got, err)
	}
}

func TestMissingConfigFile(t *testing.T) {
	_, err := load(t, nil, "--config", filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("got %v, want an error naming the file", err)
	}
}

func TestDescribeRedactsSecrets(t *testing.T) {
	c, err := load(t, map[string]string{"ROLEGATE_DATABASE_URL": "postgres://app:s3cret-pw@db:5432/rolegate?sslmode=disable&password=other-pw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Describe() {
		if strings.Contains(e.Value, "s3cret-pw") || strings.Contains(e.Value, "other-pw") {
			t.Errorf("%s: got %q, want the password redacted", e.Flag, e.Value)
		}
		if e.Flag == "database-url" && (!strings.Contains(e.Value, "app:xxxxx@db:5432") || e.Source != SourceEnv) {
			t.Errorf("database-url: got %q from %s, want the user and host kept, from env", e.Value, e.Source)
		}
	}
	if got := redactSetting("webhook-secret", "abc"); got != redacted {
		t.Errorf("a -secret setting: got %q, want %q", got, redacted)
	}
}

// TestRedactURLMasksEverySecretParameter covers libpq's other secret
// parameters: sslpassword decrypts the client key, and any parameter
// named for a password, secret or token is treated as one.
func TestRedactURLMasksEverySecretParameter(t *testing.T) {
	in := "postgres://app@db/rolegate?sslmode=verify-full&sslpassword=keypass-1&password=pw-2" +
		"&X-Auth-Token=tok-3&client_secret=sec-4&application_name=rolegate"
	got := RedactURL(in)
	for _, secret := range []string{"keypass-1", "pw-2", "tok-3", "sec-4"} {
		if strings.Contains(got, secret) {
			t.Errorf("got %q, want %q masked", got, secret)
		}
	}
	for _, kept := range []string{"app@db/rolegate", "sslmode=verify-full", "application_name=rolegate", "sslpassword=xxxxx"} {
		if !strings.Contains(got, kept) {
			t.Errorf("got %q, want it to keep %q", got, kept)
		}
	}
	if plain := "postgres://app@db/rolegate?sslmode=disable"; RedactURL(plain) != plain {
		t.Errorf("no secret: got %q, want %q unchanged", RedactURL(plain), plain)
	}
}

func TestAutoMigrateDefaultsByDatabase(t *testing.T) {
	for _, tc := range []struct {
		url, flag string
		want      bool
	}{
		{"sqlite:x.db", "", true},
		{"postgres://u@h/db", "", false},
		{"postgres://u@h/db", "true", true},
		{"sqlite:x.db", "false", false},
	} {
		args := []string{}
		if tc.flag != "" {
			args = append(args, "--auto-migrate", tc.flag)
		}
		c, err := load(t, map[string]string{"ROLEGATE_DATABASE_URL": tc.url}, args...)
		if err != nil || c.AutoMigrate != tc.want {
			t.Errorf("%s with --auto-migrate=%q: got %v, %v; want %v", tc.url, tc.flag, c.AutoMigrate, err, tc.want)
		}
	}
}

func TestProductionRefusesUnsafeSetups(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "keys.json")
	c, err := load(t, map[string]string{"ROLEGATE_ENV": "production", "ROLEGATE_JWT_KEY_FILE": missing})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ProductionProblems()
	if err == nil || !strings.Contains(err.Error(), "ROLEGATE_DATABASE_URL: production needs PostgreSQL") ||
		!strings.Contains(err.Error(), "ROLEGATE_JWT_KEY_FILE: "+missing) || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("got %v, want two lines: SQLite and the missing key file", err)
	}
	os.WriteFile(missing, []byte("{}"), 0o600)
	c, _ = load(t, map[string]string{"ROLEGATE_ENV": "production", "ROLEGATE_JWT_KEY_FILE": missing, "ROLEGATE_DATABASE_URL": "postgres://u@h/db"})
	if err := c.ProductionProblems(); err != nil {
		t.Errorf("PostgreSQL and a key file: got %v, want nil", err)
	}
	c, _ = load(t, nil)
	if err := c.ProductionProblems(); err != nil {
		t.Errorf("development on SQLite: got %v, want nil", err)
	}
	if _, err := load(t, map[string]string{"ROLEGATE_ENV": "prod"}); err == nil || !strings.Contains(err.Error(), "ROLEGATE_ENV") {
		t.Errorf("ROLEGATE_ENV=prod: got %v, want an error", err)
	}
}

func TestConfigFileSyntaxErrorNamesItsLine(t *testing.T) {
	path := writeFile(t, "addr: :7000\naccess-ttl: [5m\n")
	_, err := load(t, nil, "--config", path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %q, want one line starting %s:2:", err, path)
	}
	path = writeFile(t, "- addr\n- access-ttl\n")
	if _, err := load(t, nil, "--config", path); err == nil || !strings.Contains(err.Error(), path+":1: want a mapping") {
		t.Errorf("a list: got %v, want a mapping asked for", err)
	}
}

func TestConfigFileValues(t *testing.T) {
	path := writeFile(t, "password-min-length: 14\npolicy-watch: false\njwt-issuer: &iss \"https://id.example\"\n"+
		"default-role: !!str staff\njwt-audience: |\n  api\naccess-ttl: ~\nrefresh-ttl: *iss\n")
	c, err := load(t, nil, "--config", path)
	if c.PasswordMinLength != 14 || c.PolicyWatch || c.JWTIssuer != "https://id.example" || c.DefaultRole != "staff" {
		t.Errorf("got min %d watch %v issuer %q role %q, want 14 false https://id.example staff", c.PasswordMinLength, c.PolicyWatch, c.JWTIssuer, c.DefaultRole)
	}
	for _, want := range []string{path + ":7: access-ttl: want a single value", path + ":8: refresh-ttl: want a single value"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}
