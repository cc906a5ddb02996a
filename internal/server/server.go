// Package server wires rolegate together from a Config: storage, policy,
// credentials and the HTTP API, and runs it until told to stop.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/console"
	"github.com/rolegate/rolegate/internal/httpapi"
	"github.com/rolegate/rolegate/internal/metrics"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/internal/repeat"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/throttle"
	"github.com/rolegate/rolegate/models"
)

// Server is a configured rolegate, ready to serve.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	Store   *store.Store
	Policy  *authz.Manager
	Auth    *auth.Service
	Metrics *metrics.Metrics
	Audit   *audit.Recorder
	Handler http.Handler

	// startup is what New found and did, for the line Serve logs.
	startup startup
	hasher  *auth.Hasher
	// draining is set when Serve starts shutting down.
	draining atomic.Bool
	// stopUsers ends the user cache's listener and waits for it.
	stopUsers func()
	// instance names this server in policy_replicas (database mode).
	instance string
}

// startup is what a server found and did as it started: the facts an
// operator checks first, logged on one line when it listens.
type startup struct {
	// migrated lists the migrations New applied; empty when none.
	migrated []string
	// keyFileCreated says whether New created the signing key file.
	keyFileCreated bool
}

// New loads the policy, opens and migrates the database, and loads or
// creates the signing keys. It fails, and holds nothing open, if any of
// them is wrong.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (s *Server, err error) {
	if err := cfg.ProductionProblems(); err != nil {
		return nil, fmt.Errorf("configuration (ROLEGATE_ENV=production):\n%w", err)
	}
	var facts startup
	// In database mode the policy is in the database, so open it first.
	var st *store.Store
	if cfg.PolicySource == config.PolicySourceDatabase {
		if st, facts.migrated, err = openStore(ctx, cfg); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				st.Close()
			}
		}()
	}
	manager, err := authz.NewManager(ctx, PolicyLoader(cfg, st), policytest.Tester, log)
	if err != nil {
		return nil, fmt.Errorf("load policy:\n%w", err)
	}
	pol := manager.Authorizer().Current()
	if !pol.HasRole(cfg.DefaultRole) {
		return nil, fmt.Errorf("ROLEGATE_DEFAULT_ROLE %q is not a role the policy defines (%v)", cfg.DefaultRole, pol.Roles())
	}
	// A policy without a tenant layer leaves tenants unused; one with a
	// tenant layer must give a tenant's creator an owner-like role.
	if len(pol.TenantRoles()) > 0 {
		if err := pol.CheckTenantCreatorRole(cfg.TenantCreatorRole); err != nil {
			return nil, fmt.Errorf("ROLEGATE_TENANT_CREATOR_ROLE: %w", err)
		}
	}
	if len(pol.Routes()) == 0 {
		// Not fatal: only GET /v1/authz/forward needs routes, and it fails
		// closed. Creating the file later is picked up like any policy edit.
		log.Warn("the route table has no routes (the file is missing or empty): GET /v1/authz/forward refuses every request",
			"file", cfg.PolicyRoutes)
	}
	m := metrics.New()
	observePolicy(manager, m, log)
	loadKeys := auth.LoadOrCreateKeys
	if cfg.Production() {
		loadKeys = auth.LoadKeys // never create keys in production: replicas must share one file
	}
	_, statErr := os.Stat(cfg.JWTKeyFile)
	keys, err := loadKeys(cfg.JWTKeyFile)
	if err != nil {
		return nil, err
	}
	facts.keyFileCreated = errors.Is(statErr, fs.ErrNotExist)
	hasher, err := NewHasher(cfg)
	if err != nil {
		return nil, err
	}
	if st == nil {
		if st, facts.migrated, err = openStore(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if db, err := st.SQLDB(); err == nil {
		m.ObserveDB(db)
	}
	tokens := auth.NewTokens(auth.TokenConfig{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, KeyFile: cfg.JWTKeyFile,
	}, keys)
	svc := auth.NewService(st, st, hasher, tokens, PasswordPolicy(cfg))
	rec := audit.New(st, audit.Options{Log: log})
	m.ObserveAudit(func() metrics.AuditCounts {
		s := rec.Stats()
		return metrics.AuditCounts{Written: s.Written, Dropped: s.Dropped, Aggregated: s.Aggregated, Suppressed: s.Suppressed, Overflowed: s.Overflowed}
	})
	auditReloads(manager, rec)
	s = &Server{cfg: cfg, log: log, Store: st, Policy: manager, Auth: svc, Metrics: m, Audit: rec, startup: facts, hasher: hasher}
	s.stopUsers = s.followUsers()
	if cfg.PolicySource == config.PolicySourceDatabase {
		s.reportReplicas()
	}
	limits := throttle.New(st, ThrottleLimits(cfg))
	cd := console.Deps{
		Users: st, Sessions: st, Auth: svc, Policies: manager, Audit: rec, AuditEvents: st, Throttle: limits, DefaultRole: cfg.DefaultRole,
		Groups: st, UserTenants: st,
		Secure: cfg.Production(), IdleTimeout: cfg.ConsoleIdleTimeout, MaxAge: cfg.ConsoleMaxAge, Log: log,
		Tenants: st, PublicURL: cfg.PublicURL, InvitationTTL: cfg.InvitationTTL,
	}
	if cfg.PolicySource == config.PolicySourceDatabase {
		cd.Versions, cd.Replicas = st, st
	}
	staff := console.New(cd)
	s.Handler = httpapi.NewHandler(httpapi.Deps{
		Users: st, Groups: st, Standings: st, BreakGlass: st, Auth: svc, Policies: manager, Audit: rec, AuditEvents: st, DefaultRole: cfg.DefaultRole, Log: log, Metrics: m,
		Tenants: st, InvitationTTL: cfg.InvitationTTL, TenantCreatorRole: cfg.TenantCreatorRole,
		Draining: s.draining.Load,
		Throttle: limits, TrustedProxies: cfg.TrustedProxyList(), CORSOrigins: cfg.CORSOriginList(), PublicURL: cfg.PublicURL,
		Console: staff,
	})
	if cfg.BelowOWASP() {
		log.Warn("argon2id parameters are below OWASP's minimum (m=19456 KiB, t=2); use this only in tests",
			"memory_kib", cfg.Argon2MemoryKiB, "iterations", cfg.Argon2Iterations)
	}
	return s, nil
}

// PolicyLoader is where the policy comes from: the configured files, or,
// with ROLEGATE_POLICY_SOURCE=database, the versions published in st. The
// server and every command that asks the policy (which roles exist) load
// it through this one function, so they agree.
func PolicyLoader(cfg config.Config, st *store.Store) authz.Loader {
	if cfg.PolicySource == config.PolicySourceDatabase {
		return authz.DatabaseLoader{Versions: st}
	}
	return fileLoader(cfg)
}

func fileLoader(cfg config.Config) authz.FileLoader {
	return authz.FileLoader{ModelFile: cfg.PolicyModel, PolicyFile: cfg.PolicyFile, TestsFile: cfg.PolicyTests, RoutesFile: cfg.PolicyRoutes}
}

// observePolicy records every reload in the metrics; the manager logs.
func observePolicy(manager *authz.Manager, m *metrics.Metrics, log *slog.Logger) {
	m.PolicyReloads.WithLabelValues("startup", "success").Inc()
	m.SetPolicyVersion(manager.Authorizer().Current().Version())
	manager.Observe(func(r authz.ReloadResult) {
		result := "success"
		if !r.OK {
			result = "failure"
		}
		m.PolicyReloads.WithLabelValues(r.Trigger, result).Inc()
		m.SetPolicyVersion(r.Version)
	})
}

// auditReloads records the policy the server starts with, and every later
// reload, in the audit trail as the system's doing. Reloads through the API
// are left to the API, which knows who asked.
func auditReloads(manager *authz.Manager, rec *audit.Recorder) {
	record := func(r authz.ReloadResult) {
		if r.Trigger == httpapi.ReloadTrigger || r.Trigger == console.ReloadTrigger {
			return
		}
		e := audit.ReloadEvent(r)
		e.ActorRole = models.SystemRole
		rec.Record(context.Background(), e)
	}
	record(manager.Last())
	manager.Observe(record)
}

// ThrottleLimits returns the login and signup limits cfg describes. A
// user's username changes have the signup limit: like signups, each
// tells whether a name is taken.
func ThrottleLimits(cfg config.Config) throttle.Limits {
	limit := func(n int, window time.Duration) models.ThrottleLimit {
		return models.ThrottleLimit{Max: n, Window: window, BaseDelay: cfg.ThrottleBaseDelay}
	}
	return throttle.Limits{
		LoginAccount: limit(cfg.LoginAccountLimit, cfg.LoginWindow),
		LoginIP:      limit(cfg.LoginIPLimit, cfg.LoginWindow),
		LoginSession: limit(cfg.LoginSessionLimit, time.Minute),
		SignupIP:     limit(cfg.SignupIPLimit, cfg.SignupWindow),
		RenameUser:   limit(cfg.SignupIPLimit, cfg.SignupWindow),
	}
}

// PasswordPolicy is the password policy cfg describes, for the API and
// for the commands that set passwords.
func PasswordPolicy(cfg config.Config) auth.PasswordPolicy {
	return auth.PasswordPolicy{MinLength: cfg.PasswordMinLength}
}

// NewHasher returns the password hasher cfg describes.
func NewHasher(cfg config.Config) (*auth.Hasher, error) {
	return auth.NewHasher(auth.Argon2Params{
		Memory: uint32(cfg.Argon2MemoryKiB), Iterations: uint32(cfg.Argon2Iterations), Parallelism: uint8(cfg.Argon2Parallelism),
	}, cfg.HashSlots(), cfg.HashQueueTimeout)
}

// OpenStore opens the database and brings its schema up to date, or,
// without auto-migration, refuses a schema that is behind.
func OpenStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, _, err := openStore(ctx, cfg)
	return st, err
}

// openStore is OpenStore, and it returns the migrations it applied.
func openStore(ctx context.Context, cfg config.Config) (st *store.Store, migrated []string, err error) {
	st, err = store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return nil, nil, err
	}
	if cfg.AutoMigrate {
		migrated, err = st.MigrateUp(ctx)
	} else if n, perr := st.Pending(ctx); perr != nil {
		err = perr
	} else if n > 0 {
		err = fmt.Errorf("the database schema is %d migration(s) behind: run 'rolegate migrate up' (ROLEGATE_AUTO_MIGRATE is false; it is true by default only on SQLite)", n)
	}
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, migrated, nil
}

// AuditFlushTimeout bounds how long Close waits for the audit events still
// buffered to reach the database.
const AuditFlushTimeout = 5 * time.Second

// Close writes the audit events still buffered, for at most
// AuditFlushTimeout, and releases the database.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), AuditFlushTimeout)
	defer cancel()
	auditErr := s.Audit.Close(ctx)
	s.stopUsers()
	return errors.Join(auditErr, s.Store.Close())
}

// Serve answers HTTP on ln until ctx is done. It then drains: /readyz
// answers 503 while every request is still served, for the configured
// drain delay, so that load balancers take the server out of rotation
// before it stops listening. Then it stops taking new connections and lets
// requests in flight finish, for at most the configured shutdown timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go s.purgeExpired(ctx)
	go s.CalibrateHasher(ctx)
	go s.followKeyFile(ctx, auth.KeyFilePoll)
	switch {
	case s.cfg.PolicySource == config.PolicySourceDatabase:
		go s.followPublished(ctx)
		go s.heartbeatReplica(ctx)
	case s.cfg.PolicyWatch:
		go authz.WatchFiles(ctx, fileLoader(s.cfg).Paths(), PolicyPollInterval, func() { s.Policy.Reload(ctx, "file") })
	}
	s.logStartup(ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.drain(srv)
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logStartup writes the one line an operator reads first: where the
// server listens, in which environment, on which database (its password
// hidden), whether it migrated the schema or created the key file, and
// which policy it serves.
func (s *Server) logStartup(addr string) {
	LogAlways(s.log, "rolegate listening",
		"addr", addr,
		"env", s.cfg.Env,
		"database", config.RedactURL(s.cfg.DatabaseURL),
		"migrated", append([]string{}, s.startup.migrated...), // [] rather than null when none
		"key_file", s.cfg.JWTKeyFile,
		"key_file_created", s.startup.keyFileCreated,
		"policy_source", s.cfg.PolicySource,
		"policy_version", s.Policy.Authorizer().Current().Version(),
	)
}

// LogAlways writes an info line whatever ROLEGATE_LOG_LEVEL says: the
// lines that say where the server listens and what it started with, which
// an operator (and whatever waits for the server) needs at any level.
func LogAlways(log *slog.Logger, msg string, args ...any) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.Add(args...)
	// The handler does not filter by level; the Logger's methods do.
	_ = log.Handler().Handle(context.Background(), r)
}

// drain marks the server not ready and keeps serving for the drain delay.
// Keep-alives end, so that clients open their next connection to another
// replica instead of reusing this one.
func (s *Server) drain(srv *http.Server) {
	s.draining.Store(true)
	srv.SetKeepAlivesEnabled(false)
	if s.cfg.ShutdownDrain <= 0 {
		return
	}
	s.log.Info("draining: /readyz answers 503", "drain", s.cfg.ShutdownDrain.String())
	t := time.NewTimer(s.cfg.ShutdownDrain)
	defer t.Stop()
	<-t.C
}

// PolicyPollInterval is how often the policy files are compared with what
// is loaded. A change is acted on after one quiet interval, so edits take
// effect within about two intervals.
const PolicyPollInterval = 250 * time.Millisecond

// Reload re-reads the policy and the signing keys, as on SIGHUP.
func (s *Server) Reload(ctx context.Context, trigger string) authz.ReloadResult {
	if err := s.Auth.ReloadKeys(s.cfg.JWTKeyFile); err != nil {
		s.log.Error("reload signing keys", "err", err)
	}
	return s.Policy.Reload(ctx, trigger)
}

// ServeMetrics answers /metrics on ln until ctx is done. Metrics are kept
// off the public listener: they describe the service's traffic and users.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	return serveUntilDone(ctx, ln, mux)
}

// serveUntilDone serves h on ln until ctx is done, then closes the
// server; it returns only a failure to serve.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// purgeExpired forgets refresh tokens that have expired, console
// sessions that expired or were revoked, throttle
// counters that would start over anyway, and audit events past their
// retention, every ten minutes until ctx is done.
func (s *Server) purgeExpired(ctx context.Context) {
	repeat.Every(ctx, 10*time.Minute, func() {
		n, err := s.Store.PurgeExpired(ctx, time.Now().Add(-auth.Leeway))
		if err != nil {
			s.log.Warn("purge expired refresh tokens", "err", err)
		} else if n > 0 {
			s.log.Info("purged expired refresh tokens", "count", n)
		}
		if n, err := s.Store.PurgeConsoleSessions(ctx, time.Now()); err != nil {
			s.log.Warn("purge ended console sessions", "err", err)
		} else if n > 0 {
			s.log.Info("purged ended console sessions", "count", n)
		}
		s.purgeThrottle(ctx, time.Now())
		s.purgeAudit(ctx, time.Now(), auditPurgeBatch)
	})
}

// The audit purge deletes auditPurgeBatch events per statement, for at
// most auditPurgeBudget (and auditPurgeMaxBatches) per run; a backlog
// larger than that goes over the next runs.
const (
	auditPurgeBatch      = 1000
	auditPurgeBudget     = time.Minute
	auditPurgeMaxBatches = 10000
)

// purgeAudit deletes the audit events older than the retention, in
// batches of batch, oldest first, until a batch comes back short or the
// run's budget is spent, and returns how many it deleted in how many
// batches. Replicas may purge at the same time: see
// store.PurgeAuditEvents.
func (s *Server) purgeAudit(ctx context.Context, now time.Time, batch int) (deleted int64, batches int) {
	if s.cfg.AuditRetention == 0 {
		return 0, 0
	}
	cutoff := now.Add(-s.cfg.AuditRetention)
	deadline := time.Now().Add(auditPurgeBudget)
	for batches < auditPurgeMaxBatches && time.Now().Before(deadline) && ctx.Err() == nil {
		n, err := s.Store.PurgeAuditEvents(ctx, cutoff, batch)
		if err != nil {
			s.log.Warn("purge old audit events", "err", err, "deleted", deleted)
			break
		}
		batches++
		deleted += n
		if n < int64(batch) {
			break
		}
	}
	if deleted > 0 {
		s.log.Info("purged old audit events", "count", deleted, "batches", batches, "before", cutoff)
	}
	return deleted, batches
}

// purgeThrottle deletes the throttle counters whose window and block
// ended a longest window before now.
func (s *Server) purgeThrottle(ctx context.Context, now time.Time) {
	n, err := s.Store.PurgeThrottle(ctx, now.Add(-max(s.cfg.LoginWindow, s.cfg.SignupWindow)))
	if err != nil {
		s.log.Warn("purge throttle counters", "err", err)
	} else if n > 0 {
		s.log.Info("purged throttle counters", "count", n)
	}
}

// maxHashKindsCalibrated bounds the kinds of stored hash measured at start.
const maxHashKindsCalibrated = 32

// CalibrateHasher has the password hasher check one stored hash of each
// kind (algorithm and parameters), so that refused logins are held to the
// cost of the most expensive kind from the start, not from the first login
// that meets it (see auth.Verification.Refuse). Serve runs it once, in the
// background; each check takes a hashing slot like a login.
func (s *Server) CalibrateHasher(ctx context.Context) {
	samples, err := s.Store.PasswordHashSamples(ctx, maxHashKindsCalibrated)
	if err == nil {
		err = s.hasher.Calibrate(ctx, samples)
	}
	if err != nil {
		s.log.Warn("measure stored password hashes; refused logins learn their cost as they meet them", "err", err)
		return
	}
	s.log.Info("measured stored password hashes", "kinds", len(samples), "failure_floor", s.hasher.FailureFloor().String())
}

// followKeyFile re-reads the signing key file every interval, so that
// every replica publishes a key added by "rolegate keys rotate" well
// before it signs (see auth.PublishDelay), and stops accepting a key
// "rolegate keys retire" removed.
func (s *Server) followKeyFile(ctx context.Context, interval time.Duration) {
	repeat.Every(ctx, interval, func() {
		if err := s.Auth.ReloadKeys(s.cfg.JWTKeyFile); err != nil {
			s.log.Warn("reload signing keys", "err", err)
		}
	})
}
