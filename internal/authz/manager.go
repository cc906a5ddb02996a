package authz

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Loader fetches the policy to load: from files, or from the database.
type Loader interface {
	// Load returns the current model, policy and tests text.
	Load(ctx context.Context) (Source, error)
	// Origin says where policies come from, for GET /v1/policy.
	Origin() Origin
}

// Origin describes where a policy comes from.
type Origin struct {
	Mode       string `json:"mode"` // "file" or "database"
	ModelFile  string `json:"model_file,omitempty"`
	PolicyFile string `json:"policy_file,omitempty"`
	TestsFile  string `json:"tests_file,omitempty"`
	RoutesFile string `json:"routes_file,omitempty"`
	// Published is the database row of the policy in force, in database
	// mode.
	Published *Published `json:"published,omitempty"`
}

// Tester runs a compiled policy against the tests in src. It returns
// LoadErrors naming each failing case, or nil when all pass.
type Tester func(p *Policy, src Source) error

// ReloadResult is the outcome of one reload attempt.
type ReloadResult struct {
	At       time.Time   `json:"at"`
	Trigger  string      `json:"trigger"`
	OK       bool        `json:"ok"`
	Version  string      `json:"version,omitempty"` // the version in force afterwards
	Changed  bool        `json:"changed"`           // whether a new version went into force
	Errors   []LoadError `json:"errors,omitempty"`
	Duration string      `json:"duration"`
}

// Manager keeps the Authorizer's policy up to date. A reload compiles the
// new text, runs the policy's own tests, and only then swaps it in; a
// failed reload leaves the old policy serving.
type Manager struct {
	auth   *Authorizer
	loader Loader
	test   Tester
	log    *slog.Logger
	// observers are told every result: metrics, audit.
	observers []func(ReloadResult)

	mu   sync.Mutex // one reload at a time
	last atomic.Pointer[ReloadResult]
}

// NewManager loads the first policy from loader, testing it with test (nil
// skips tests), and returns a Manager serving it.
func NewManager(ctx context.Context, loader Loader, test Tester, log *slog.Logger) (*Manager, error) {
	m := &Manager{loader: loader, test: test, log: log}
	p, err := m.build(ctx)
	if err != nil {
		return nil, err
	}
	m.auth = NewAuthorizer(p)
	m.last.Store(&ReloadResult{At: p.LoadedAt(), Trigger: "startup", OK: true, Version: p.Version(), Changed: true, Duration: "0s"})
	return m, nil
}

// Authorizer returns the Authorizer the manager keeps current.
func (m *Manager) Authorizer() *Authorizer { return m.auth }

// Current returns the policy in force.
func (m *Manager) Current() *Policy { return m.auth.Current() }

// Origin says where the policy comes from and, for a published one,
// which row is in force: that of the policy serving, not of the last
// attempt, which may have been refused.
func (m *Manager) Origin() Origin {
	o := m.loader.Origin()
	o.Published = m.Current().Source().Published
	return o
}

// Observe registers fn to be told the result of every reload.
func (m *Manager) Observe(fn func(ReloadResult)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.observers = append(m.observers, fn)
}

// Last returns the result of the most recent reload attempt.
func (m *Manager) Last() ReloadResult { return *m.last.Load() }

// Reload loads, validates and tests the policy, and puts it in force if
// all is well. trigger says what asked ("sighup", "file", "api", ...).
func (m *Manager) Reload(ctx context.Context, trigger string) ReloadResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	start := time.Now()
	res := ReloadResult{At: start.UTC(), Trigger: trigger}
	p, err := m.build(ctx)
	cur := m.auth.Current()
	switch {
	case err != nil:
		res.Errors = asLoadErrors(err)
		res.Version = cur.Version()
		m.log.Error("policy reload failed; the previous policy stays in force",
			"trigger", trigger, "version", cur.Version(), "errors", LoadErrors(res.Errors).Error())
	case p.Version() == cur.Version():
		res.OK, res.Version = true, cur.Version()
	default:
		m.auth.Swap(p)
		res.OK, res.Version, res.Changed = true, p.Version(), true
		m.log.Info("policy reloaded", "trigger", trigger, "from", cur.Version(), "to", p.Version(), "rules", len(p.rules))
	}
	res.Duration = time.Since(start).String()
	m.last.Store(&res)
	for _, fn := range m.observers {
		fn(res)
	}
	return res
}

// build loads, compiles and tests the policy without putting it in force.
func (m *Manager) build(ctx context.Context) (*Policy, error) {
	src, err := m.loader.Load(ctx)
	if err != nil {
		return nil, err
	}
	p, err := Compile(src)
	if err != nil {
		return nil, err
	}
	if m.test != nil {
		if err := m.test(p, src); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func asLoadErrors(err error) []LoadError {
	var le LoadErrors
	if errors.As(err, &le) {
		return le
	}
	var one LoadError
	if errors.As(err, &one) {
		return []LoadError{one}
	}
	return []LoadError{{File: "policy", Reason: err.Error()}}
}

// FileLoader reads the policy from files.
type FileLoader struct {
	ModelFile, PolicyFile string
	// TestsFile is the policy's test file. Empty, or a file that does not
	// exist, means no tests.
	TestsFile string
	// RoutesFile is the route table of GET /v1/authz/forward. Empty means
	// the policy has none; a file that does not exist is an empty table,
	// which maps no request, so that creating it later is a reload like
	// any other edit.
	RoutesFile string
}

// Load reads the files.
func (l FileLoader) Load(context.Context) (Source, error) {
	src, err := ReadSource(l.ModelFile, l.PolicyFile)
	if err != nil {
		return src, err
	}
	src.TestsFile = l.TestsFile
	if l.TestsFile != "" {
		src.Tests, err = readOptional(l.TestsFile)
		if err != nil {
			return src, LoadErrors{{File: l.TestsFile, Reason: readReason(err)}}
		}
	}
	src.RoutesFile = l.RoutesFile
	if l.RoutesFile != "" {
		src.Routes, err = readOptional(l.RoutesFile)
		if err != nil {
			return src, LoadErrors{{File: l.RoutesFile, Reason: readReason(err)}}
		}
	}
	return src, nil
}

// Origin reports the files.
func (l FileLoader) Origin() Origin {
	return Origin{Mode: "file", ModelFile: l.ModelFile, PolicyFile: l.PolicyFile, TestsFile: l.TestsFile, RoutesFile: l.RoutesFile}
}

// Paths lists the files a watcher should follow.
func (l FileLoader) Paths() []string {
	paths := []string{l.ModelFile, l.PolicyFile}
	for _, p := range []string{l.TestsFile, l.RoutesFile} {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}
