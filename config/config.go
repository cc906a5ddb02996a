// Package config reads rolegate's settings from flags, ROLEGATE_*
// environment variables and an optional YAML file. Flags win over the
// environment, which wins over the file, which wins over the defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
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
	PolicySource string

	JWTKeyFile  string
	JWTIssuer   string
	JWTAudience string
	AccessTTL   time.Duration
	RefreshTTL  time.Duration

	// ConsoleIdleTimeout and ConsoleMaxAge end a staff console session
	// after so long unused and so long after sign-in.
	ConsoleIdleTimeout time.Duration
	ConsoleMaxAge      time.Duration

	DefaultRole       string
	PasswordMinLength int
	Argon2MemoryKiB   uint
	Argon2Iterations  uint
	Argon2Parallelism uint
	HashConcurrency   int
	HashQueueTimeout  time.Duration

	ShutdownTimeout time.Duration
	ShutdownDrain   time.Duration
	LogLevel        string
	LogFormat       string
	MetricsAddr     string

	// Env is "development" or "production", which refuses unsafe setups.
	Env string
	// ConfigFile is the YAML file the settings were read from, if any.
	ConfigFile string

	// autoMigrateAuto is set while AutoMigrate is "auto": decided by the
	// database once every source is applied.
	autoMigrateAuto bool
	// values and sources are each setting's value as given, and where it
	// came from, by flag name.
	values  map[string]string
	sources map[string]Source
	// lines are the lines of the config file that set settings, by flag
	// name, for settings whose value came from the file.
	lines map[string]int

	LoginAccountLimit int
	LoginIPLimit      int
	LoginWindow       time.Duration
	LoginSessionLimit int
	SignupIPLimit     int
	SignupWindow      time.Duration
	ThrottleBaseDelay time.Duration
	TrustedProxies    string
	CORSOrigins       string
	// PublicURL is the address clients reach the API at, for the absolute
	// links of list pages; empty makes them relative.
	PublicURL string

	// AuditRetention is how long audit events are kept; 0 keeps them all.
	AuditRetention time.Duration

	// InvitationTTL is how long a tenant invitation can be accepted.
	InvitationTTL time.Duration
	// TenantCreatorRole is the tenant role the creator of a tenant gets;
	// the policy must make it owner-like (authz.CheckTenantCreatorRole).
	TenantCreatorRole string

	PprofAddr string
	// MemoryLimit is serve's soft memory limit (debug.SetMemoryLimit):
	// "auto", "0" for none, or MiB. See MemoryLimitBytes.
	MemoryLimit string
	// GCPercent is serve's garbage collection target (debug.SetGCPercent,
	// GOGC's meaning), unless GOGC is set.
	GCPercent int
}

// Where the policy comes from (ROLEGATE_POLICY_SOURCE).
const (
	PolicySourceFile     = "file"
	PolicySourceDatabase = "database"
)

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

// days is dur that also takes a whole number of days, such as 90d.
func days(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		if n, ok := strings.CutSuffix(v, "d"); ok {
			d, err := strconv.ParseUint(n, 10, 16)
			if err != nil {
				return fmt.Errorf("%q is not a duration such as 90d or 720h", v)
			}
			*f(c) = time.Duration(d) * 24 * time.Hour
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 90d or 720h", v)
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
	{Setting{"addr", "ROLEGATE_ADDR", "127.0.0.1:8080", "address to listen on; the default is loopback only, and " + ProductionAddr + " (every interface) when ROLEGATE_ENV is production"}, str(func(c *Config) *string { return &c.Addr })},
	{Setting{"database-url", "ROLEGATE_DATABASE_URL", "sqlite:data/rolegate.db", "postgres://... for PostgreSQL, sqlite:PATH for SQLite"}, str(func(c *Config) *string { return &c.DatabaseURL })},
	{Setting{"database-max-conns", "ROLEGATE_DATABASE_MAX_CONNS", "0", "most open database connections; 0 picks 20 for PostgreSQL, 8 for SQLite"}, integer(func(c *Config) *int { return &c.DatabaseMaxConns })},
	{Setting{"auto-migrate", "ROLEGATE_AUTO_MIGRATE", "auto", "apply pending schema migrations when serve starts; auto means true on SQLite, false on PostgreSQL"}, autoMigrate},
	{Setting{"policy-model", "ROLEGATE_POLICY_MODEL", "policy/model.conf", "Casbin model file"}, str(func(c *Config) *string { return &c.PolicyModel })},
	{Setting{"policy-file", "ROLEGATE_POLICY_FILE", "policy/policy.csv", "Casbin policy file"}, str(func(c *Config) *string { return &c.PolicyFile })},
	{Setting{"policy-tests", "ROLEGATE_POLICY_TESTS", "policy/policy_test.csv", "the policy's test file; a reload refuses a policy that fails it"}, str(func(c *Config) *string { return &c.PolicyTests })},
	{Setting{"policy-routes", "ROLEGATE_POLICY_ROUTES", "policy/routes.csv", "route table of /v1/authz/forward; a missing file maps no request"}, str(func(c *Config) *string { return &c.PolicyRoutes })},
	{Setting{"policy-watch", "ROLEGATE_POLICY_WATCH", "true", "reload the policy when its files change"}, boolean(func(c *Config) *bool { return &c.PolicyWatch })},
	{Setting{"policy-source", "ROLEGATE_POLICY_SOURCE", PolicySourceFile, "file: each replica reads its policy files; database: every replica serves the version published last with 'rolegate policy publish'"}, str(func(c *Config) *string { return &c.PolicySource })},
	{Setting{"jwt-key-file", "ROLEGATE_JWT_KEY_FILE", "data/jwt-keys.json", "Ed25519 signing keys; created on first start"}, str(func(c *Config) *string { return &c.JWTKeyFile })},
	{Setting{"jwt-issuer", "ROLEGATE_JWT_ISSUER", "rolegate", "iss claim of issued tokens, required on verified ones"}, str(func(c *Config) *string { return &c.JWTIssuer })},
	{Setting{"jwt-audience", "ROLEGATE_JWT_AUDIENCE", "rolegate", "aud claim of issued tokens, required on verified ones"}, str(func(c *Config) *string { return &c.JWTAudience })},
	{Setting{"access-ttl", "ROLEGATE_ACCESS_TTL", "5m", "lifetime of access tokens"}, dur(func(c *Config) *time.Duration { return &c.AccessTTL })},
	{Setting{"refresh-ttl", "ROLEGATE_REFRESH_TTL", "24h", "lifetime of each refresh token"}, dur(func(c *Config) *time.Duration { return &c.RefreshTTL })},
	{Setting{"console-idle-timeout", "ROLEGATE_CONSOLE_IDLE_TIMEOUT", "30m", "a staff console session ends after this long without a request"}, dur(func(c *Config) *time.Duration { return &c.ConsoleIdleTimeout })},
	{Setting{"console-max-age", "ROLEGATE_CONSOLE_MAX_AGE", "12h", "a staff console session ends this long after sign-in, however busy"}, dur(func(c *Config) *time.Duration { return &c.ConsoleMaxAge })},
	{Setting{"default-role", "ROLEGATE_DEFAULT_ROLE", "user", "role of users who sign up; must be defined by the policy"}, str(func(c *Config) *string { return &c.DefaultRole })},
	{Setting{"password-min-length", "ROLEGATE_PASSWORD_MIN_LENGTH", "12", "shortest password accepted, in characters"}, integer(func(c *Config) *int { return &c.PasswordMinLength })},
	{Setting{"argon2-memory-kib", "ROLEGATE_ARGON2_MEMORY_KIB", "19456", "argon2id memory per hash, KiB (OWASP minimum 19456)"}, uinteger(func(c *Config) *uint { return &c.Argon2MemoryKiB })},
	{Setting{"argon2-iterations", "ROLEGATE_ARGON2_ITERATIONS", "2", "argon2id passes (OWASP minimum 2)"}, uinteger(func(c *Config) *uint { return &c.Argon2Iterations })},
	{Setting{"argon2-parallelism", "ROLEGATE_ARGON2_PARALLELISM", "1", "argon2id lanes"}, uinteger(func(c *Config) *uint { return &c.Argon2Parallelism })},
	{Setting{"hash-concurrency", "ROLEGATE_HASH_CONCURRENCY", "0", "most password hashes at once; 0 means one per two CPUs, at least one"}, integer(func(c *Config) *int { return &c.HashConcurrency })},
	{Setting{"hash-queue-timeout", "ROLEGATE_HASH_QUEUE_TIMEOUT", "5s", "longest wait for a hashing slot before answering 503"}, dur(func(c *Config) *time.Duration { return &c.HashQueueTimeout })},
	{Setting{"shutdown-timeout", "ROLEGATE_SHUTDOWN_TIMEOUT", "15s", "how long requests in flight may finish after SIGTERM"}, dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Setting{"shutdown-drain", "ROLEGATE_SHUTDOWN_DRAIN", "5s", "after SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes"}, dur(func(c *Config) *time.Duration { return &c.ShutdownDrain })},
	{Setting{"metrics-addr", "ROLEGATE_METRICS_ADDR", "", "address of a separate listener for /metrics; empty means no metrics listener"}, str(func(c *Config) *string { return &c.MetricsAddr })},
	{Setting{"pprof-addr", "ROLEGATE_PPROF_ADDR", "", "address of a separate debug listener for /debug/pprof/; empty means none"}, str(func(c *Config) *string { return &c.PprofAddr })},
	{Setting{"memory-limit", "ROLEGATE_MEMORY_LIMIT", "0", "soft memory limit of serve in MiB (Go's debug.SetMemoryLimit); auto means 64 MiB plus the argon2id memory of every hashing slot; 0 means none; ignored when GOMEMLIMIT is set"}, str(func(c *Config) *string { return &c.MemoryLimit })},
	{Setting{"gc-percent", "ROLEGATE_GC_PERCENT", "150", "garbage collection target of serve, as GOGC: the heap may grow this many percent over what was live before the next collection; ignored when GOGC is set"}, integer(func(c *Config) *int { return &c.GCPercent })},
	{Setting{"log-level", "ROLEGATE_LOG_LEVEL", "info", "debug, info, warn or error"}, str(func(c *Config) *string { return &c.LogLevel })},
	{Setting{"login-account-limit", "ROLEGATE_LOGIN_ACCOUNT_LIMIT", "10", "failed logins per username in a login window before each further one blocks"}, integer(func(c *Config) *int { return &c.LoginAccountLimit })},
	{Setting{"login-ip-limit", "ROLEGATE_LOGIN_IP_LIMIT", "100", "failed logins per client address in a login window before each further one blocks"}, integer(func(c *Config) *int { return &c.LoginIPLimit })},
	{Setting{"login-window", "ROLEGATE_LOGIN_WINDOW", "15m", "window of the login limits, and their longest block"}, dur(func(c *Config) *time.Duration { return &c.LoginWindow })},
	{Setting{"login-session-limit", "ROLEGATE_LOGIN_SESSION_LIMIT", "30", "successful logins (new sessions) per username in a minute before each further one blocks"}, integer(func(c *Config) *int { return &c.LoginSessionLimit })},
	{Setting{"signup-ip-limit", "ROLEGATE_SIGNUP_IP_LIMIT", "20", "signups and username changes per client address, and username changes per user, in a signup window before each further one blocks"}, integer(func(c *Config) *int { return &c.SignupIPLimit })},
	{Setting{"signup-window", "ROLEGATE_SIGNUP_WINDOW", "1h", "window of the signup limit, and its longest block"}, dur(func(c *Config) *time.Duration { return &c.SignupWindow })},
	{Setting{"throttle-base-delay", "ROLEGATE_THROTTLE_BASE_DELAY", "1s", "first block past a limit; each further attempt doubles it"}, dur(func(c *Config) *time.Duration { return &c.ThrottleBaseDelay })},
	{Setting{"trusted-proxies", "ROLEGATE_TRUSTED_PROXIES", "", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed; empty trusts none"}, str(func(c *Config) *string { return &c.TrustedProxies })},
	{Setting{"public-url", "ROLEGATE_PUBLIC_URL", "", "the API's address as clients reach it (https://auth.example.com), for absolute next links of lists and the console's invitation accept links; empty makes them relative (path and query)"}, str(func(c *Config) *string { return &c.PublicURL })},
	{Setting{"cors-origins", "ROLEGATE_CORS_ORIGINS", "", "comma-separated exact origins allowed cross-origin requests; empty turns CORS off"}, str(func(c *Config) *string { return &c.CORSOrigins })},
	{Setting{"audit-retention", "ROLEGATE_AUDIT_RETENTION", "90d", "how long audit events are kept, such as 90d or 720h; older ones are deleted in batches every ten minutes; 0 keeps them all"}, days(func(c *Config) *time.Duration { return &c.AuditRetention })},
	{Setting{"invitation-ttl", "ROLEGATE_INVITATION_TTL", "168h", "how long an invitation to a tenant can be accepted"}, dur(func(c *Config) *time.Duration { return &c.InvitationTTL })},
	{Setting{"tenant-creator-role", "ROLEGATE_TENANT_CREATOR_ROLE", "owner", "tenant role the creator of a tenant gets; the policy must let it delete the tenant"}, str(func(c *Config) *string { return &c.TenantCreatorRole })},
	{Setting{"log-format", "ROLEGATE_LOG_FORMAT", "auto", "json, text, or auto: text when standard error is a terminal, else JSON"}, str(func(c *Config) *string { return &c.LogFormat })},
	{Setting{"env", "ROLEGATE_ENV", "development", "development or production; production refuses SQLite and a missing key file"}, str(func(c *Config) *string { return &c.Env })},
}

// autoMigrate sets auto-migrate: true, false, or auto.
func autoMigrate(c *Config, v string) error {
	if v == "auto" {
		c.autoMigrateAuto = true
		return nil
	}
	c.autoMigrateAuto = false
	return boolean(func(c *Config) *bool { return &c.AutoMigrate })(c, v)
}

// Settings lists every setting with its flag, variable and default.
func Settings() []Setting {
	out := make([]Setting, len(binds))
	for i, b := range binds {
		out[i] = b.Setting
	}
	return out
}

// FlagSet is where Register adds the setting flags: the standard
// library's *flag.FlagSet is one, and so is spf13/pflag's.
type FlagSet interface {
	Func(name, usage string, fn func(string) error)
}

// Flags collects the settings given as flags on one command line, in the
// order given, until Load applies them.
type Flags struct {
	given []givenFlag
}

type givenFlag struct {
	name, value string
}

// Register adds --config and a flag for every setting to fs, except the
// settings whose flag names are in except (a command whose own flags
// already name those values, under one spelling), and returns what
// collects the values given.
func Register(fs FlagSet, except ...string) *Flags {
	f := &Flags{}
	record := func(name string) func(string) error {
		return func(v string) error {
			f.given = append(f.given, givenFlag{name, v})
			return nil
		}
	}
	fs.Func(ConfigFlag, "YAML configuration file whose keys are these flags' names (env "+ConfigEnv+")", record(ConfigFlag))
	for _, b := range binds {
		if !slices.Contains(except, b.Flag) {
			fs.Func(b.Flag, fmt.Sprintf("%s (env %s, default %q)", b.Usage, b.Env, b.Default), record(b.Flag))
		}
	}
	return f
}

// Load applies the defaults, then the YAML file named by --config or
// ROLEGATE_CONFIG, then ROLEGATE_* variables from getenv, then the flags
// given; then it validates the result. Every problem is reported, one per
// line, each naming where its value came from: the file and line, the
// variable, or the flag.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	c := Config{values: map[string]string{}, sources: map[string]Source{}, lines: map[string]int{}}
	for _, b := range binds {
		if err := c.apply(b, b.Default, SourceDefault); err != nil {
			panic(fmt.Sprintf("config: bad default for %s: %v", b.Flag, err)) // a bug in binds
		}
	}
	var errs []error
	c.ConfigFile = getenv(ConfigEnv)
	for _, g := range f.given {
		if g.name == ConfigFlag {
			c.ConfigFile = g.value
		}
	}
	if c.ConfigFile != "" {
		errs = append(errs, c.applyFile(c.ConfigFile)...)
	}
	for _, b := range binds {
		if v := getenv(b.Env); v != "" {
			if err := c.apply(b, v, SourceEnv); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", b.Env, err))
			}
		}
	}
	for _, g := range f.given {
		if b, ok := bindOf(g.name); ok {
			if err := c.apply(b, g.value, SourceFlag); err != nil {
				errs = append(errs, fmt.Errorf("--%s: %w", g.name, err))
			}
		}
	}
	c.resolveDefaults()
	// A value that did not parse left the one before it in place, so the
	// checks below see only values that parsed, and report the rest.
	return c, errors.Join(append(errs, c.Validate())...)
}

// Load registers every setting as a flag on fs, parses args and loads
// the configuration, for callers with a plain flag set such as tests. The
// caller may register flags of its own on fs first; the arguments left
// after the flags are in fs.Args().
func Load(getenv func(string) string, fs *flag.FlagSet, args []string) (Config, error) {
	f := Register(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return f.Load(getenv)
}

func bindOf(flag string) (bind, bool) {
	for _, b := range binds {
		if b.Flag == flag {
			return b, true
		}
	}
	return bind{}, false
}

// resolveDefaults settles the defaults that depend on other settings:
// auto-migrate's "auto", and the listen address, which is loopback only
// in development and every interface in production.
func (c *Config) resolveDefaults() {
	if c.autoMigrateAuto {
		c.AutoMigrate = c.IsSQLite()
	}
	if c.sources["addr"] == SourceDefault && c.Production() {
		c.Addr, c.values["addr"] = ProductionAddr, ProductionAddr
	}
}

// ProductionAddr is the listen address in production unless ROLEGATE_ADDR
// says otherwise; development listens on loopback only (the default of
// ROLEGATE_ADDR), so that a laptop's server is not open to its network.
const ProductionAddr = ":8080"

// apply sets b to v and remembers where v came from.
func (c *Config) apply(b bind, v string, from Source) error {
	if err := b.set(c, v); err != nil {
		return err
	}
	c.values[b.Flag], c.sources[b.Flag] = v, from
	delete(c.lines, b.Flag)
	return nil
}

// Origin names where the value of the setting with flag name flag came
// from, as the operator would look for it: "--flag", "file.yaml:3: flag",
// or, for a variable or a default, the variable's name. Commands start
// their messages about a setting with it.
func (c Config) Origin(flag string) string { return c.origin(flag) }

// IsDefault reports whether the setting with flag name flag has its
// default value, given nowhere.
func (c Config) IsDefault(flag string) bool { return c.sources[flag] == SourceDefault }

func (c Config) origin(flag string) string {
	switch c.sources[flag] {
	case SourceFlag:
		return "--" + flag
	case SourceFile:
		return fmt.Sprintf("%s:%d: %s", c.ConfigFile, c.lines[flag], flag)
	}
	b, _ := bindOf(flag)
	return b.Env
}

// IsSQLite reports whether the database is SQLite.
func (c Config) IsSQLite() bool { return strings.HasPrefix(c.DatabaseURL, "sqlite:") }

// Production reports whether ROLEGATE_ENV is production.
func (c Config) Production() bool { return c.Env == EnvProduction }

// Validate reports every invalid setting, one per line.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, flag, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s", c.origin(flag), fmt.Sprintf(format, args...)))
		}
	}
	check(c.Addr != "", "addr", "must not be empty")
	check(strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://") || strings.HasPrefix(c.DatabaseURL, "sqlite:"),
		"database-url", "want postgres://... or sqlite:PATH")
	check(c.DatabaseMaxConns >= 0, "database-max-conns", "must not be negative")
	check(c.PolicyModel != "", "policy-model", "must not be empty")
	check(c.PolicyFile != "", "policy-file", "must not be empty")
	check(c.PolicyRoutes != "", "policy-routes", "must not be empty")
	check(c.PolicySource == PolicySourceFile || c.PolicySource == PolicySourceDatabase, "policy-source", "want file or database")
	check(c.JWTKeyFile != "", "jwt-key-file", "must not be empty")
	check(c.JWTIssuer != "", "jwt-issuer", "must not be empty")
	check(c.JWTAudience != "", "jwt-audience", "must not be empty")
	check(c.AccessTTL > 0, "access-ttl", "must be positive")
	check(c.RefreshTTL > 0, "refresh-ttl", "must be positive")
	check(c.AccessTTL <= c.RefreshTTL, "access-ttl", "must not be longer than refresh-ttl (%s)", c.RefreshTTL)
	check(c.ConsoleIdleTimeout > 0, "console-idle-timeout", "must be positive")
	check(c.ConsoleMaxAge >= c.ConsoleIdleTimeout, "console-max-age", "must not be shorter than console-idle-timeout (%s)", c.ConsoleIdleTimeout)
	check(c.DefaultRole != "", "default-role", "must not be empty")
	check(c.PasswordMinLength >= 1 && c.PasswordMinLength <= 128, "password-min-length", "must be between 1 and 128")
	check(c.Argon2MemoryKiB >= 8 && c.Argon2MemoryKiB <= 4<<20, "argon2-memory-kib", "must be between 8 and 4194304")
	check(c.Argon2Iterations >= 1 && c.Argon2Iterations <= 64, "argon2-iterations", "must be between 1 and 64")
	check(c.Argon2Parallelism >= 1 && c.Argon2Parallelism <= 255, "argon2-parallelism", "must be between 1 and 255")
	check(c.HashConcurrency >= 0, "hash-concurrency", "must not be negative")
	check(c.GCPercent >= 10 && c.GCPercent <= 1000, "gc-percent", "must be between 10 and 1000")
	check(c.MemoryLimit == "auto" || validMiB(c.MemoryLimit), "memory-limit", "want auto, 0, or a number of MiB")
	check(c.HashQueueTimeout > 0, "hash-queue-timeout", "must be positive")
	check(c.ShutdownTimeout > 0, "shutdown-timeout", "must be positive")
	check(c.ShutdownDrain >= 0, "shutdown-drain", "must not be negative")
	check(c.LoginAccountLimit >= 1, "login-account-limit", "must be at least 1")
	check(c.LoginIPLimit >= 1, "login-ip-limit", "must be at least 1")
	check(c.LoginWindow > 0, "login-window", "must be positive")
	check(c.LoginSessionLimit >= 1, "login-session-limit", "must be at least 1")
	check(c.SignupIPLimit >= 1, "signup-ip-limit", "must be at least 1")
	check(c.SignupWindow > 0, "signup-window", "must be positive")
	check(c.ThrottleBaseDelay >= time.Millisecond, "throttle-base-delay", "must be at least 1ms")
	check(c.InvitationTTL >= time.Minute, "invitation-ttl", "must be at least 1m")
	check(c.TenantCreatorRole != "", "tenant-creator-role", "must not be empty")
	check(c.AuditRetention == 0 || c.AuditRetention >= time.Hour, "audit-retention", "must be 0 (keep every event) or at least 1h")
	for _, p := range c.TrustedProxyList() {
		_, aerr := netip.ParseAddr(p)
		_, perr := netip.ParsePrefix(p)
		check(aerr == nil || perr == nil, "trusted-proxies", "%q is not an IP address or CIDR", p)
	}
	if c.PublicURL != "" {
		if err := checkPublicURL(c.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.origin("public-url"), err))
		}
	}
	for _, o := range c.CORSOriginList() {
		if err := checkOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.origin("cors-origins"), err))
		}
	}
	check(c.LogLevel == "debug" || c.LogLevel == "info" || c.LogLevel == "warn" || c.LogLevel == "error", "log-level", "want debug, info, warn or error")
	check(c.LogFormat == "json" || c.LogFormat == "text" || c.LogFormat == "auto", "log-format", "want json, text or auto")
	check(c.Env == EnvDevelopment || c.Env == EnvProduction, "env", "want development or production")
	return errors.Join(errs...)
}

// TrustedProxyList returns ROLEGATE_TRUSTED_PROXIES as a list.
func (c Config) TrustedProxyList() []string { return list(c.TrustedProxies) }

// CORSOriginList returns ROLEGATE_CORS_ORIGINS as a list.
func (c Config) CORSOriginList() []string { return list(c.CORSOrigins) }

// list splits a comma-separated setting, dropping blanks.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// checkOrigin accepts an origin exactly as a browser sends it in its
// Origin header: scheme://host[:port], lower case, http or https, nothing
// after. "*" and "null" are refused: any site, and sandboxed or file pages,
// must never be allowed to call the API with a user's token.
func checkOrigin(o string) error {
	switch o {
	case "*":
		return errors.New(`"*" is not allowed: list each origin exactly, such as https://app.example.com`)
	case "null":
		return errors.New(`"null" is not allowed: it is the origin of sandboxed frames and local files`)
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Scheme+"://"+u.Host != o || strings.ToLower(o) != o {
		return fmt.Errorf("%q is not an origin: want scheme://host[:port] in lower case, such as https://app.example.com", o)
	}
	return nil
}

// checkPublicURL accepts an absolute http(s) URL with a host and no
// credentials, query or fragment; its path, if any, is the prefix a proxy
// serves the API under.
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
		return fmt.Errorf("%q: want an absolute http or https URL with no query or fragment, such as https://auth.example.com", s)
	}
	return nil
}

// MemoryLimitBytes is the soft memory limit serve sets, in bytes; 0 means
// none. auto leaves room for every hashing slot's argon2id memory (19 MiB
// each by default) above 64 MiB for the rest: the heap a login flood
// holds live, without the garbage collector's default doubling of it.
func (c Config) MemoryLimitBytes() int64 {
	if c.MemoryLimit == "auto" {
		return 64<<20 + int64(c.HashSlots())*int64(c.Argon2MemoryKiB)<<10
	}
	mib, _ := strconv.ParseInt(c.MemoryLimit, 10, 64)
	return mib << 20
}

func validMiB(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= 0 && n <= 1<<30
}

// HashSlots is how many password hashes may run at once. The default
// leaves half the CPUs to everything else, so that a login flood cannot
// starve authenticated requests (docs/performance.md measures it).
func (c Config) HashSlots() int {
	if c.HashConcurrency > 0 {
		return c.HashConcurrency
	}
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// BelowOWASP reports whether the argon2id settings are weaker than OWASP's
// minimum (m=19456 KiB, t=2, p=1). Tests lower them on purpose; a server
// warns at startup.
func (c Config) BelowOWASP() bool {
	return c.Argon2MemoryKiB < 19456 || c.Argon2Iterations < 2
}
