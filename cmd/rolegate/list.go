package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/models"
)

// listPageSize is how many users each query of "users list" reads.
const listPageSize = 500

// listUsers runs "rolegate users list": a table of every user matching the
// filters, in id order, read a page at a time.
func listUsers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users list", flag.ContinueOnError)
	role := fs.String("role", "", "only users with this role")
	search := fs.String("search", "", "only users whose username or email contains this, ignoring case")
	cfg, err := loadConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"want: rolegate users list [--role R] [--search S]"}
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	filter := models.UserFilter{Search: *search, Limit: listPageSize}
	if *role != "" {
		filter.Role = role
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
