// Package config reads rolegate's settings from flags and ROLEGATE_*
// environment variables. Flags win over the environment, which wins over
// the defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of a rolegate process.
type Config struct {
	Addr             string
	DatabaseURL      string
	DatabaseMaxConns int
	AutoMigrate      bool

	PolicyModel  string
	PolicyFile   string
	PolicyTests  string
	PolicyRoutes string
	PolicyWatch  bool

	JWTKeyFile  string
	JWTIssuer   string
	JWTAudience string
	AccessTTL   time.Duration
	RefreshTTL  time.Duration

	DefaultRole       string
	PasswordMinLength int
	Argon2MemoryKiB   uint
	Argon2Iterations  uint
	Argon2Parallelism uint
	HashConcurrency   int
	HashQueueTimeout  time.Duration

	ShutdownTimeout time.Duration
	LogLevel        string
	MetricsAddr     string
}

// Setting describes one configuration setting, for binding and for docs.
type Setting struct {
	Flag    string
	Env     string
	Default string
	Usage   string
}

// bind is a setting together with where its value goes.
type bind struct {
	Setting
	set func(*Config, string) error
}

func str(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func dur(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 5m or 24h", v)
		}
		*f(c) = d
		return nil
	}
}

func integer(f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*f(c) = n
		return nil
	}
}

func uinteger(f func(*Config) *uint) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*f(c) = uint(n)
		return nil
	}
}

func boolean(f func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*f(c) = b
		return nil
	}
}

// binds lists every setting. The README's configuration table is checked
// against it by a test.
var binds = []bind{
	{Setting{"addr", "ROLEGATE_ADDR", ":8080", "address to listen on"}, str(func(c *Config) *string { return &c.Addr })},
	{Setting{"database-url", "ROLEGATE_DATABASE_URL", "sqlite:data/rolegate.db", "postgres://... for PostgreSQL, sqlite:PATH for SQLite"}, str(func(c *Config) *string { return &c.DatabaseURL })},
	{Setting{"database-max-conns", "ROLEGATE_DATABASE_MAX_CONNS", "0", "most open database connections; 0 picks 20 for PostgreSQL, 8 for SQLite"}, integer(func(c *Config) *int { return &c.DatabaseMaxConns })},
	{Setting{"auto-migrate", "ROLEGATE_AUTO_MIGRATE", "true", "apply pending schema migrations when serve starts"}, boolean(func(c *Config) *bool { return &c.AutoMigrate })},
	{Setting{"policy-model", "ROLEGATE_POLICY_MODEL", "policy/model.conf", "Casbin model file"}, str(func(c *Config) *string { return &c.PolicyModel })},
	{Setting{"policy-file", "ROLEGATE_POLICY_FILE", "policy/policy.csv", "Casbin policy file"}, str(func(c *Config) *string { return &c.PolicyFile })},
	{Setting{"policy-tests", "ROLEGATE_POLICY_TESTS", "policy/policy_test.csv", "the policy's test file; a reload refuses a policy that fails it"}, str(func(c *Config) *string { return &c.PolicyTests })},
	{Setting{"policy-routes", "ROLEGATE_POLICY_ROUTES", "policy/routes.csv", "route table of /v1/authz/forward; a missing file maps no request"}, str(func(c *Config) *string { return &c.PolicyRoutes })},
	{Setting{"policy-watch", "ROLEGATE_POLICY_WATCH", "true", "reload the policy when its files change"}, boolean(func(c *Config) *bool { return &c.PolicyWatch })},
	{Setting{"jwt-key-file", "ROLEGATE_JWT_KEY_FILE", "data/jwt-keys.json", "Ed25519 signing keys; created on first start"}, str(func(c *Config) *string { return &c.JWTKeyFile })},
	{Setting{"jwt-issuer", "ROLEGATE_JWT_ISSUER", "rolegate", "iss claim of issued tokens, required on verified ones"}, str(func(c *Config) *string { return &c.JWTIssuer })},
	{Setting{"jwt-audience", "ROLEGATE_JWT_AUDIENCE", "rolegate", "aud claim of issued tokens, required on verified ones"}, str(func(c *Config) *string { return &c.JWTAudience })},
	{Setting{"access-ttl", "ROLEGATE_ACCESS_TTL", "5m", "lifetime of access tokens"}, dur(func(c *Config) *time.Duration { return &c.AccessTTL })},
	{Setting{"refresh-ttl", "ROLEGATE_REFRESH_TTL", "24h", "lifetime of each refresh token"}, dur(func(c *Config) *time.Duration { return &c.RefreshTTL })},
	{Setting{"default-role", "ROLEGATE_DEFAULT_ROLE", "user", "role of users who sign up; must be defined by the policy"}, str(func(c *Config) *string { return &c.DefaultRole })},
	{Setting{"password-min-length", "ROLEGATE_PASSWORD_MIN_LENGTH", "12", "shortest password accepted, in characters"}, integer(func(c *Config) *int { return &c.PasswordMinLength })},
	{Setting{"argon2-memory-kib", "ROLEGATE_ARGON2_MEMORY_KIB", "19456", "argon2id memory per hash, KiB (OWASP minimum 19456)"}, uinteger(func(c *Config) *uint { return &c.Argon2MemoryKiB })},
	{Setting{"argon2-iterations", "ROLEGATE_ARGON2_ITERATIONS", "2", "argon2id passes (OWASP minimum 2)"}, uinteger(func(c *Config) *uint { return &c.Argon2Iterations })},
	{Setting{"argon2-parallelism", "ROLEGATE_ARGON2_PARALLELISM", "1", "argon2id lanes"}, uinteger(func(c *Config) *uint { return &c.Argon2Parallelism })},
	{Setting{"hash-concurrency", "ROLEGATE_HASH_CONCURRENCY", "0", "most password hashes at once; 0 means one per CPU"}, integer(func(c *Config) *int { return &c.HashConcurrency })},
	{Setting{"hash-queue-timeout", "ROLEGATE_HASH_QUEUE_TIMEOUT", "5s", "longest wait for a hashing slot before answering 503"}, dur(func(c *Config) *time.Duration { return &c.HashQueueTimeout })},
	{Setting{"shutdown-timeout", "ROLEGATE_SHUTDOWN_TIMEOUT", "15s", "how long requests in flight may finish after SIGTERM"}, dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Setting{"metrics-addr", "ROLEGATE_METRICS_ADDR", "", "address of a separate listener for /metrics; empty means no metrics listener"}, str(func(c *Config) *string { return &c.MetricsAddr })},
	{Setting{"log-level", "ROLEGATE_LOG_LEVEL", "info", "debug, info, warn or error"}, str(func(c *Config) *string { return &c.LogLevel })},
}

// Settings lists every setting with its flag, variable and default.
func Settings() []Setting {
	out := make([]Setting, len(binds))
	for i, b := range binds {
		out[i] = b.Setting
	}
	return out
}

// Load registers every setting as a flag on fs, applies defaults, then
// ROLEGATE_* variables from getenv, then the flags in args, and validates
// the result. The caller may register flags of its own on fs first; the
// arguments left after the flags are in fs.Args().
func Load(getenv func(string) string, fs *flag.FlagSet, args []string) (Config, error) {
	var c Config
	var errs []error
	for _, b := range binds {
		if err := b.set(&c, b.Default); err != nil {
			panic(fmt.Sprintf("config: bad default for %s: %v", b.Flag, err)) // a bug in binds
		}
		if v := getenv(b.Env); v != "" {
			if err := b.set(&c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", b.Env, err))
			}
		}
	}
	for _, b := range binds {
		fs.Func(b.Flag, fmt.Sprintf("%s (env %s, default %q)", b.Usage, b.Env, b.Default), func(v string) error {
			return b.set(&c, v)
		})
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, c.Validate()
}

// Validate reports every invalid setting, one per line.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Addr != "", "ROLEGATE_ADDR: must not be empty")
	check(strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://") || strings.HasPrefix(c.DatabaseURL, "sqlite:"),
		"ROLEGATE_DATABASE_URL: want postgres://... or sqlite:PATH")
	check(c.DatabaseMaxConns >= 0, "ROLEGATE_DATABASE_MAX_CONNS: must not be negative")
	check(c.PolicyModel != "", "ROLEGATE_POLICY_MODEL: must not be empty")
	check(c.PolicyFile != "", "ROLEGATE_POLICY_FILE: must not be empty")
	check(c.PolicyRoutes != "", "ROLEGATE_POLICY_ROUTES: must not be empty")
	check(c.JWTKeyFile != "", "ROLEGATE_JWT_KEY_FILE: must not be empty")
	check(c.JWTIssuer != "", "ROLEGATE_JWT_ISSUER: must not be empty")
	check(c.JWTAudience != "", "ROLEGATE_JWT_AUDIENCE: must not be empty")
	check(c.AccessTTL > 0, "ROLEGATE_ACCESS_TTL: must be positive")
	check(c.RefreshTTL > 0, "ROLEGATE_REFRESH_TTL: must be positive")
	check(c.AccessTTL <= c.RefreshTTL, "ROLEGATE_ACCESS_TTL: must not be longer than ROLEGATE_REFRESH_TTL")
	check(c.DefaultRole != "", "ROLEGATE_DEFAULT_ROLE: must not be empty")
	check(c.PasswordMinLength >= 1 && c.PasswordMinLength <= 128, "ROLEGATE_PASSWORD_MIN_LENGTH: must be between 1 and 128")
	check(c.Argon2MemoryKiB >= 8 && c.Argon2MemoryKiB <= 4<<20, "ROLEGATE_ARGON2_MEMORY_KIB: must be between 8 and 4194304")
	check(c.Argon2Iterations >= 1 && c.Argon2Iterations <= 64, "ROLEGATE_ARGON2_ITERATIONS: must be between 1 and 64")
	check(c.Argon2Parallelism >= 1 && c.Argon2Parallelism <= 255, "ROLEGATE_ARGON2_PARALLELISM: must be between 1 and 255")
	check(c.HashConcurrency >= 0, "ROLEGATE_HASH_CONCURRENCY: must not be negative")
	check(c.HashQueueTimeout > 0, "ROLEGATE_HASH_QUEUE_TIMEOUT: must be positive")
	check(c.ShutdownTimeout > 0, "ROLEGATE_SHUTDOWN_TIMEOUT: must be positive")
	check(c.LogLevel == "debug" || c.LogLevel == "info" || c.LogLevel == "warn" || c.LogLevel == "error", "ROLEGATE_LOG_LEVEL: want debug, info, warn or error")
	return errors.Join(errs...)
}

// HashSlots is how many password hashes may run at once.
func (c Config) HashSlots() int {
	if c.HashConcurrency > 0 {
		return c.HashConcurrency
	}
	return runtime.GOMAXPROCS(0)
}

// BelowOWASP reports whether the argon2id settings are weaker than OWASP's
// minimum (m=19456 KiB, t=2, p=1). Tests lower them on purpose; a server
// warns at startup.
func (c Config) BelowOWASP() bool {
	return c.Argon2MemoryKiB < 19456 || c.Argon2Iterations < 2
}
