package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Entry is one setting's effective value and where it came from.
type Entry struct {
	Setting
	Value  string // secrets redacted
	Source Source
}

// Describe lists every setting's effective value and source, in the order
// of Settings, with secrets redacted.
func (c Config) Describe() []Entry {
	out := make([]Entry, 0, len(binds))
	for _, b := range binds {
		out = append(out, Entry{Setting: b.Setting, Value: redactSetting(b.Flag, c.values[b.Flag]), Source: c.sources[b.Flag]})
	}
	return out
}

// redacted replaces a secret.
const redacted = "[redacted]"

// redactSetting hides the secrets in a setting's value: the password of a
// database URL, and any setting named as key material or a secret.
func redactSetting(flag, v string) string {
	if v == "" {
		return v
	}
	if flag == "database-url" {
		return RedactURL(v)
	}
	for _, s := range []string{"secret", "password", "token", "private-key", "seed"} {
		if strings.HasSuffix(flag, s) {
			return redacted
		}
	}
	return v
}

// RedactURL hides the password in a URL's user info and the value of every
// query parameter that carries a secret (see secretParam).
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") || secretParam(s) {
			return redacted // unparseable, and may hold a secret
		}
		return s
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	masked := false
	for k := range q {
		if secretParam(k) {
			q.Set(k, "xxxxx")
			masked = true
		}
	}
	if masked {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secretParam reports whether a parameter's name says it carries a secret:
// libpq's password and sslpassword, and any name with "password", "secret"
// or "token" in it, in any case.
func secretParam(name string) bool {
	name = strings.ToLower(name)
	return strings.Contains(name, "password") || strings.Contains(name, "secret") || strings.Contains(name, "token")
}

// ProductionProblems lists, one per line, what ROLEGATE_ENV=production
// refuses: SQLite, and a missing signing key file (production never creates
// one; run "rolegate keys init"). In development it returns nil.
func (c Config) ProductionProblems() error {
	if !c.Production() {
		return nil
	}
	var errs []error
	if c.IsSQLite() {
		errs = append(errs, errors.New(c.origin("database-url")+": production needs PostgreSQL, not SQLite"))
	}
	if _, err := os.Stat(c.JWTKeyFile); err != nil {
		errs = append(errs, fmt.Errorf("%s: %s: production does not create a key file; run 'rolegate keys init' first (%v)", c.origin("jwt-key-file"), c.JWTKeyFile, errors.Unwrap(err)))
	}
	// CORS "*" needs no check here: Validate refuses it in every
	// environment.
	return errors.Join(errs...)
}
