package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/models"
)

// listPageSize is how many users each query of "users list" reads.
const listPageSize = 500

// listUsers runs "rolegate users list": a table of every user matching the
// filters, in id order, read a page at a time.
func (c *cli) usersListCommand() *cobra.Command {
	var role, search string
	cmd := &cobra.Command{Use: "list", Short: "print a table of users"}
	cmd.Flags().StringVar(&role, "role", "", "only users with this role")
	cmd.Flags().StringVar(&search, "search", "", "only users whose username or email contains this, ignoring case")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		return listUsers(ctx, cfg, role, search, c.stdout)
	})
}

func listUsers(ctx context.Context, cfg config.Config, role, search string, stdout io.Writer) error {
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	filter := models.UserFilter{Search: search, Limit: listPageSize}
	if role != "" {
		filter.Role = &role
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tROLE\tACTIVE\tDATE_JOINED\tLAST_LOGIN")
	for {
		page, err := st.ListUsers(ctx, filter)
		if err != nil {
			return err
		}
		for _, u := range page {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, orDash(u.Email), u.Role,
				yesNo(u.IsActive), u.DateJoined.UTC().Format(time.RFC3339), lastLogin(u))
		}
		if len(page) < filter.Limit {
			return tw.Flush()
		}
		filter.AfterID = page[len(page)-1].ID
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func lastLogin(u *models.User) string {
	if u.LastLogin == nil {
		return "never"
	}
	return u.LastLogin.UTC().Format(time.RFC3339)
}
