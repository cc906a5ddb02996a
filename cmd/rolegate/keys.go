package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/models"
)

// tokenKeep is how long a key's tokens can outlive its last signature:
// only access tokens are signed, and they are checked with Leeway.
func tokenKeep(cfg config.Config) time.Duration { return cfg.AccessTTL + auth.Leeway }

// keyChange is one key change, done to the key file and then recorded
// in the log and, through the store, in the audit trail.
type keyChange struct {
	cfg    config.Config
	log    *slog.Logger
	by     string // the operator, $USER
	record func(models.AuditEvent) error
}

// startKeyChange opens the database before the key file is touched, so
// that no change goes unaudited because the database was out of reach.
func startKeyChange(ctx context.Context, cfg config.Config, getenv func(string) string, stderr io.Writer) (*keyChange, func(), error) {
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("the key file is unchanged: every key change is audited, and the database is not available: %w", err)
	}
	kc := &keyChange{cfg: cfg, log: newLogger(stderr, cfg.LogLevel, cfg.LogFormat), by: getenv("USER")}
	kc.record = func(e models.AuditEvent) error { return st.InsertAuditEvents(ctx, []models.AuditEvent{e}) }
	return kc, func() { st.Close() }, nil
}

// done logs a key change and writes its audit event.
func (kc *keyChange) done(action, kid, msg string, detail map[string]any) error {
	detail["key_file"] = kc.cfg.JWTKeyFile
	detail["by"] = kc.by
	attrs := []any{"kid", kid}
	for k, v := range detail {
		attrs = append(attrs, k, v)
	}
	kc.log.Info(msg, attrs...)
	e := models.AuditEvent{
		At: time.Now().UTC(), ActorRole: models.CLIRole, Action: action, Target: "keys/" + kid,
		Result: models.AuditSuccess, Detail: detail,
	}
	if err := kc.record(e); err != nil {
		kc.log.Error("key change not audited", "action", action, "kid", kid, "err", err)
		return fmt.Errorf("the key file was changed, but the audit event was not written: %w", err)
	}
	return nil
}

// rotateKeys runs "rolegate keys rotate": it publishes a new key, which
// signs once every cached copy of the JWKS has had time to expire.
func rotateKeys(ctx context.Context, cfg config.Config, getenv func(string) string, stdout, stderr io.Writer) error {
	if _, err := auth.LoadKeys(cfg.JWTKeyFile); err != nil {
		return err
	}
	kc, closeStore, err := startKeyChange(ctx, cfg, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	added, dropped, err := auth.RotateKeys(cfg.JWTKeyFile, tokenKeep(cfg), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added signing key %s: published now, signs from %s\n", added.ID, added.SignsFrom.Format(time.RFC3339))
	fmt.Fprintf(stdout, "(running servers publish it within %s; verifiers' cached JWKS expire within %s after that)\n", auth.KeyFilePoll, auth.JWKSMaxAge)
	droppedIDs := []string{}
	for _, k := range dropped {
		fmt.Fprintf(stdout, "dropped key %s: no token it signed can still be valid\n", k.ID)
		droppedIDs = append(droppedIDs, k.ID)
	}
	return kc.done(models.AuditKeyRotate, added.ID, "signing key added", map[string]any{
		"signs_from": added.SignsFrom.Format(time.RFC3339), "dropped": droppedIDs,
	})
}

// listKeys runs "rolegate keys list": every key, in the order they sign,
// and what it does now.
func listKeys(cfg config.Config, stdout io.Writer) error {
	ks, err := auth.LoadKeys(cfg.JWTKeyFile)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tCREATED\tSIGNS FROM\tSTATE")
	for _, k := range ks.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339), k.SignsFrom.Format(time.RFC3339), describeState(ks.State(k.ID, tokenKeep(cfg), now)))
	}
	return tw.Flush()
}

func describeState(st auth.KeyState) string {
	if st.Name == auth.Verifying {
		return fmt.Sprintf("verifying until %s", st.Until.Format(time.RFC3339))
	}
	return st.Name
}

// retireKey runs "rolegate keys retire [--force] KID". force retires the
// key even if it signs now or its tokens may still be valid.
func retireKey(ctx context.Context, cfg config.Config, kid string, force bool, getenv func(string) string, stdout, stderr io.Writer) error {
	ks, err := auth.LoadKeys(cfg.JWTKeyFile)
	if err != nil {
		return err
	}
	now := time.Now()
	state := ks.State(kid, tokenKeep(cfg), now)
	kc, closeStore, err := startKeyChange(ctx, cfg, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	retired, signer, err := auth.RetireKey(cfg.JWTKeyFile, kid, tokenKeep(cfg), now, force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "retired key %s (%s); key %s signs now\n", retired.ID, describeState(state), signer.ID)
	fmt.Fprintf(stdout, "running servers stop accepting its tokens within %s, or at once on SIGHUP\n", auth.KeyFilePoll)
	if signer.SignsFrom.After(now) {
		fmt.Fprintf(stdout, "warning: key %s signs at once, before its time (%s): verifiers whose cached JWKS predates it refuse its tokens until they fetch the JWKS again\n",
			signer.ID, signer.SignsFrom.Format(time.RFC3339))
	}
	return kc.done(models.AuditKeyRetire, retired.ID, "signing key retired", map[string]any{
		"state": state.Name, "forced": force, "signer": signer.ID,
	})
}
