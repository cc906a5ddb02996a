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
	if c.Addr != ":8080" || c.DatabaseURL != "sqlite:data/rolegate.db" || c.PolicyModel != "policy/model.conf" ||
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
