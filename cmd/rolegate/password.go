package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/models"
)

// OperatorRole is the actor role of audit events an operator causes from
// the command line, where there is no caller with an account.
const OperatorRole = "operator"

func (c *cli) usersSetPasswordCommand() *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "set-password USERNAME --password-stdin",
		Short: "set a user's password and end their sessions (like Django's changepassword)",
		Args:  exactArgs("USERNAME"),
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the new password from the first line of standard input (required)")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, args []string) error {
		if !fromStdin {
			return usagef(cmd, "users set-password needs --password-stdin")
		}
		return setPassword(ctx, cfg, args[0], c.getenv("USER"), c.stdin, c.stdout)
	})
}

// setPassword sets the password of the user named username as an
// administrator's reset through the API does: the API's password policy,
// every session of the user ended, and a user.password_reset audit event,
// written before the command reports success. osUser is who ran it.
func setPassword(ctx context.Context, cfg config.Config, username, osUser string, stdin io.Reader, stdout io.Writer) error {
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.UserByUsername(ctx, username)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return fmt.Errorf("no user is named %q: 'rolegate users list' lists them", username)
	}
	if err != nil {
		return err
	}
	hasher, err := server.NewHasher(cfg)
	if err != nil {
		return err
	}
	// Setting a password signs no token, so the service needs no keys.
	svc := auth.NewService(st, st, hasher, nil, server.PasswordPolicy(cfg))
	if _, err := svc.SetPassword(ctx, u, password, models.AdminGuard{}, "cli"); err != nil {
		return describe(err)
	}
	event := models.AuditEvent{
		At: time.Now().UTC(), ActorRole: OperatorRole, Action: models.AuditUserPasswordReset,
		Target: fmt.Sprintf("users/%d", u.ID), Result: models.AuditSuccess,
		Detail: map[string]any{"via": "rolegate users set-password", "os_user": osUser},
	}
	if err := st.InsertAuditEvents(ctx, []models.AuditEvent{event}); err != nil {
		return fmt.Errorf("the password of %s is set and their sessions ended, but the audit event was not written: %w", u.Username, err)
	}
	fmt.Fprintf(stdout, "set the password of user %d (%s); every session of the user has ended\n", u.ID, u.Username)
	return nil
}
