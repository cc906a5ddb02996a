// Package server wires rolegate together from a Config: storage, policy,
// credentials and the HTTP API, and runs it until told to stop.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/httpapi"
	"github.com/rolegate/rolegate/internal/store"
)

// Server is a configured rolegate, ready to serve.
type Server struct {
	cfg        config.Config
	log        *slog.Logger
	Store      *store.Store
	Authorizer *authz.Authorizer
	Auth       *auth.Service
	Handler    http.Handler
}

// New loads the policy, opens and migrates the database, and loads or
// creates the signing keys. It fails, and holds nothing open, if any of
// them is wrong.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	pol, err := authz.Load(cfg.PolicyModel, cfg.PolicyFile)
	if err != nil {
		return nil, fmt.Errorf("load policy:\n%w", err)
	}
	if !pol.HasRole(cfg.DefaultRole) {
		return nil, fmt.Errorf("ROLEGATE_DEFAULT_ROLE %q is not a role the policy defines (%v)", cfg.DefaultRole, pol.Roles())
	}
	keys, err := auth.LoadOrCreateKeys(cfg.JWTKeyFile)
	if err != nil {
		return nil, err
	}
	hasher, err := NewHasher(cfg)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	tokens := auth.NewTokens(auth.TokenConfig{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, KeyFile: cfg.JWTKeyFile,
	}, keys)
	svc := auth.NewService(st, st, hasher, tokens, auth.PasswordPolicy{MinLength: cfg.PasswordMinLength})
	authorizer := authz.NewAuthorizer(pol)
	s := &Server{cfg: cfg, log: log, Store: st, Authorizer: authorizer, Auth: svc}
	s.Handler = httpapi.NewHandler(httpapi.Deps{
		Users: st, Auth: svc, Policies: authorizer, DefaultRole: cfg.DefaultRole, Log: log,
	})
	if cfg.BelowOWASP() {
		log.Warn("argon2id parameters are below OWASP's minimum (m=19456 KiB, t=2); use this only in tests",
			"memory_kib", cfg.Argon2MemoryKiB, "iterations", cfg.Argon2Iterations)
	}
	return s, nil
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
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		err = st.Migrate(ctx)
	} else if n, perr := st.Pending(ctx); perr != nil {
		err = perr
	} else if n > 0 {
		err = fmt.Errorf("the database schema is %d migration(s) behind: run 'rolegate migrate up' or set ROLEGATE_AUTO_MIGRATE=true", n)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Close releases the database.
func (s *Server) Close() error { return s.Store.Close() }

// Serve answers HTTP on ln until ctx is done, then stops taking new
// connections and lets requests in flight finish, for at most the
// configured shutdown timeout.
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
	go s.followKeyFile(ctx, time.Minute)
	s.log.Info("rolegate listening", "addr", ln.Addr().String(), "policy_version", s.Authorizer.Current().Version())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
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

// purgeExpired forgets refresh tokens that have expired, every ten minutes
// until ctx is done.
func (s *Server) purgeExpired(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Store.PurgeExpired(ctx, time.Now().Add(-auth.Leeway))
			if err != nil {
				s.log.Warn("purge expired refresh tokens", "err", err)
			} else if n > 0 {
				s.log.Info("purged expired refresh tokens", "count", n)
			}
		}
	}
}

// followKeyFile re-reads the signing key file every interval, so that
// after "rolegate keys rotate" every replica signs with the new key before
// the old one can be dropped.
func (s *Server) followKeyFile(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Auth.ReloadKeys(s.cfg.JWTKeyFile); err != nil {
				s.log.Warn("reload signing keys", "err", err)
			}
		}
	}
}
