package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// tenantsCommand holds the tenant commands, with which an operator sets up
// tenants and their members from a shell, as the API's users would. The
// operator has the database, so no grant cap applies; the last-owner guard
// does, and every change is audited with actor role cli.
func (c *cli) tenantsCommand() *cobra.Command {
	return group("tenants", "create and list tenants, and add or remove their members",
		c.tenantsCreateCommand(), c.tenantsListCommand(), c.tenantsAddMemberCommand(), c.tenantsRemoveMemberCommand())
}

// tenantOp is one tenant command's session: the store, the policy in force
// and the operator, for the audit trail.
type tenantOp struct {
	st  *store.Store
	pol *authz.Policy
	by  string
}

func (c *cli) openTenantOp(ctx context.Context, cfg config.Config) (*tenantOp, error) {
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pol, err := policyInForce(ctx, cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &tenantOp{st: st, pol: pol, by: c.getenv("USER")}, nil
}

// record writes the audit event of a change already made.
func (op *tenantOp) record(ctx context.Context, t *models.Tenant, action, target string, detail map[string]any) error {
	detail["by"] = op.by
	e := models.AuditEvent{
		At: time.Now().UTC(), ActorRole: models.CLIRole, Action: action, Target: target, TenantID: t.ID,
		Result: models.AuditSuccess, PolicyVersion: op.pol.Version(), Detail: detail,
	}
	if err := op.st.InsertAuditEvents(ctx, []models.AuditEvent{e}); err != nil {
		return fmt.Errorf("the change was made, but its audit event was not written: %w", err)
	}
	return nil
}

func (c *cli) tenantsCreateCommand() *cobra.Command {
	var slug, name, owner string
	cmd := &cobra.Command{Use: "create --slug S --name N [--owner USERNAME]", Short: "create a tenant, owned by a user if --owner names one", Args: noArgs}
	cmd.Flags().StringVar(&slug, "slug", "", "the tenant's slug: 2 to 63 of a-z, 0-9 and - (required)")
	cmd.Flags().StringVar(&name, "name", "", "the tenant's name (required)")
	cmd.Flags().StringVar(&owner, "owner", "", "username of the user who becomes its member with ROLEGATE_TENANT_CREATOR_ROLE")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		if slug == "" || name == "" {
			return usagef(cmd, "tenants create needs --slug and --name")
		}
		op, err := c.openTenantOp(ctx, cfg)
		if err != nil {
			return err
		}
		defer op.st.Close()
		return op.create(ctx, cfg, slug, name, owner, c.stdout)
	})
}

func (op *tenantOp) create(ctx context.Context, cfg config.Config, slug, name, owner string, stdout io.Writer) error {
	var ownerID int64
	if owner != "" {
		if err := op.pol.CheckTenantCreatorRole(cfg.TenantCreatorRole); err != nil {
			return fmt.Errorf("ROLEGATE_TENANT_CREATOR_ROLE: %w", err)
		}
		u, err := op.user(ctx, owner)
		if err != nil {
			return err
		}
		ownerID = u.ID
	}
	t, err := op.st.CreateTenant(ctx, &models.Tenant{Slug: slug, Name: name, IsActive: true}, ownerID, cfg.TenantCreatorRole)
	if err != nil {
		return describe(err)
	}
	detail := map[string]any{"after": map[string]any{"slug": t.Slug, "name": t.Name, "is_active": t.IsActive}}
	if ownerID != 0 {
		detail["owner"] = map[string]any{"user_id": ownerID, "role": cfg.TenantCreatorRole}
	}
	if err := op.record(ctx, t, models.AuditTenantCreate, "tenants/"+t.Slug, detail); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created tenant %d: %s (%s)\n", t.ID, t.Slug, t.Name)
	if ownerID != 0 {
		fmt.Fprintf(stdout, "%s is its %s\n", owner, cfg.TenantCreatorRole)
	}
	return nil
}

// user finds the user whose username is name.
func (op *tenantOp) user(ctx context.Context, name string) (*models.User, error) {
	u, err := op.st.UserByUsername(ctx, name)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, fmt.Errorf("no user is named %q", name)
	}
	return u, err
}

// tenant finds the tenant whose slug or id is ref.
func (op *tenantOp) tenant(ctx context.Context, ref string) (*models.Tenant, error) {
	t, err := op.st.TenantByRef(ctx, ref)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, fmt.Errorf("no tenant has the slug or id %q", ref)
	}
	return t, err
}

func (c *cli) tenantsListCommand() *cobra.Command {
	var member string
	cmd := &cobra.Command{Use: "list [--user USERNAME]", Short: "print a table of tenants, or of one user's tenants with their role", Args: noArgs}
	cmd.Flags().StringVar(&member, "user", "", "only this user's tenants (active memberships), with their role in each")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		op, err := c.openTenantOp(ctx, cfg)
		if err != nil {
			return err
		}
		defer op.st.Close()
		return op.list(ctx, member, c.stdout)
	})
}

func (op *tenantOp) list(ctx context.Context, member string, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSLUG\tNAME\tACTIVE\tCREATED\tROLE")
	row := func(t *models.Tenant, role string) {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Slug, t.Name, yesNo(t.IsActive), t.CreatedAt.UTC().Format(time.RFC3339), orDash(role))
	}
	f := models.TenantFilter{Limit: listPageSize}
	if member == "" {
		for {
			page, err := op.st.ListTenants(ctx, f)
			if err != nil {
				return err
			}
			for _, t := range page {
				row(t, "")
			}
			if len(page) < f.Limit {
				return tw.Flush()
			}
			f.AfterID = page[len(page)-1].ID
		}
	}
	u, err := op.user(ctx, member)
	if err != nil {
		return err
	}
	for {
		page, err := op.st.ListTenantsOf(ctx, u.ID, f)
		if err != nil {
			return err
		}
		for _, mt := range page {
			row(&mt.Tenant, mt.Role)
		}
		if len(page) < f.Limit {
			return tw.Flush()
		}
		f.AfterID = page[len(page)-1].ID
	}
}

func (c *cli) tenantsAddMemberCommand() *cobra.Command {
	var ref, name, role string
	cmd := &cobra.Command{Use: "add-member --tenant T --user USERNAME --role R", Short: "make a user a member of a tenant, or change their tenant role", Args: noArgs}
	cmd.Flags().StringVar(&ref, "tenant", "", "the tenant's slug or id (required)")
	cmd.Flags().StringVar(&name, "user", "", "the user's username (required)")
	cmd.Flags().StringVar(&role, "role", "", "a tenant role the policy defines (required)")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		if ref == "" || name == "" || role == "" {
			return usagef(cmd, "tenants add-member needs --tenant, --user and --role")
		}
		op, err := c.openTenantOp(ctx, cfg)
		if err != nil {
			return err
		}
		defer op.st.Close()
		return op.addMember(ctx, ref, name, role, c.stdout)
	})
}

func (op *tenantOp) addMember(ctx context.Context, ref, name, role string, stdout io.Writer) error {
	if !op.pol.HasTenantRole(role) {
		return fmt.Errorf("role: %q is not a tenant role the policy defines (%s)", role, strings.Join(op.pol.TenantRoles(), ", "))
	}
	t, err := op.tenant(ctx, ref)
	if err != nil {
		return err
	}
	u, err := op.user(ctx, name)
	if err != nil {
		return err
	}
	active := true
	change, err := op.st.PutMember(ctx, t.ID, u.ID, models.MemberPatch{Role: &role, IsActive: &active}, op.pol.TenantGuard(), nil)
	if err != nil {
		return describe(err)
	}
	action := models.AuditMemberUpdate
	if change.Before == nil {
		action = models.AuditMemberAdd
	}
	if err := op.record(ctx, t, action, memberTarget(t, u.ID), map[string]any{
		"user_id": u.ID, "before": membershipDetail(change.Before), "after": membershipDetail(change.After),
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is %s of %s\n", u.Username, role, t.Slug)
	return nil
}

func membershipDetail(m *models.Membership) map[string]any {
	if m == nil {
		return nil
	}
	return map[string]any{"role": m.Role, "is_active": m.IsActive}
}

func memberTarget(t *models.Tenant, userID int64) string {
	return fmt.Sprintf("tenants/%s/members/%d", t.Slug, userID)
}

func (c *cli) tenantsRemoveMemberCommand() *cobra.Command {
	var ref, name string
	cmd := &cobra.Command{Use: "remove-member --tenant T --user USERNAME", Short: "remove a user from a tenant (not its last active owner)", Args: noArgs}
	cmd.Flags().StringVar(&ref, "tenant", "", "the tenant's slug or id (required)")
	cmd.Flags().StringVar(&name, "user", "", "the user's username (required)")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		if ref == "" || name == "" {
			return usagef(cmd, "tenants remove-member needs --tenant and --user")
		}
		op, err := c.openTenantOp(ctx, cfg)
		if err != nil {
			return err
		}
		defer op.st.Close()
		return op.removeMember(ctx, ref, name, c.stdout)
	})
}

func (op *tenantOp) removeMember(ctx context.Context, ref, name string, stdout io.Writer) error {
	t, err := op.tenant(ctx, ref)
	if err != nil {
		return err
	}
	u, err := op.user(ctx, name)
	if err != nil {
		return err
	}
	before, err := op.st.RemoveMember(ctx, t.ID, u.ID, op.pol.TenantGuard(), nil)
	switch models.ErrorCode(err) {
	case "":
	case models.ENOTFOUND:
		return fmt.Errorf("%s is not a member of %s", u.Username, t.Slug)
	default:
		return describe(err)
	}
	if err := op.record(ctx, t, models.AuditMemberRemove, memberTarget(t, u.ID), map[string]any{
		"user_id": u.ID, "before": membershipDetail(before), "after": nil,
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is no longer a member of %s\n", u.Username, t.Slug)
	return nil
}
