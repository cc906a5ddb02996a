package peers

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
)

// ColdUser is the i-th user (from 0) of cold set k (from 0): cold users
// come after the directory, ColdSize to a set, each active with role user,
// so that no run finds a user another run has put in rolegate's caches.
func (d Directory) ColdUser(k, i int) int64 {
	return d.Size + int64(k)*d.ColdSize + int64(i) + 1
}

// unusablePassword is stored for every seeded user: nobody logs in during
// a run (tokens are minted), so no argon2id hash is computed at all.
const unusablePassword = "!peers"

// WriteUsers writes a rolegate CSV user file (rolegate users import) of the
// directory and coldSets cold sets.
func (d Directory) WriteUsers(path string, coldSets int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,username,email,role,is_active,password_hash")
	last := d.ColdUser(coldSets, 0) - 1
	for id := int64(1); id <= last; id++ {
		role, active := RoleUser, true
		if id <= d.Size {
			role, active = d.Role(id), d.Active(id)
		}
		fmt.Fprintf(w, "%d,peer%07d,peer%07d@example.com,%s,%t,%s\n", id, id, id, role, active, unusablePassword)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteTenants writes the directory's tenant layer as a Django dumpdata
// export of seed 003's shape (rolegate users import reads it, after the
// user file): the support group, the tenants, each membership, and a user
// entry for each group member (the same user as the user file, which the
// import counts as unchanged, naming their groups).
func (d Directory) WriteTenants(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	const created = "2026-01-01T00:00:00Z"
	fmt.Fprintf(w, "[\n{\"model\": \"auth.group\", \"pk\": 1, \"fields\": {\"name\": %q, \"permissions\": []}}", GroupSupport)
	for t := int64(1); t <= d.TenantCount(); t++ {
		fmt.Fprintf(w, ",\n{\"model\": \"tenants.tenant\", \"pk\": %d, \"fields\": {\"name\": \"Peers %d\", \"slug\": %q, \"is_active\": %t, \"created_at\": %q}}",
			t, t, d.Slug(t), d.TenantActive(t), created)
	}
	pk := 0
	for id := int64(1); id <= d.Size; id++ {
		for _, m := range d.Memberships(id) {
			pk++
			fmt.Fprintf(w, ",\n{\"model\": \"tenants.tenantuser\", \"pk\": %d, \"fields\": {\"tenant\": %d, \"user\": %d, \"role\": %q, \"is_active\": %t, \"created_at\": %q}}",
				pk, m.Tenant, id, m.Role, m.Active, created)
		}
		if g := d.group(id); g != "" {
			fmt.Fprintf(w, ",\n{\"model\": \"auth.user\", \"pk\": %d, \"fields\": {\"username\": \"peer%07d\", \"email\": \"peer%07d@example.com\", \"role\": %q, \"is_active\": %t, \"password\": %q, \"groups\": [[%q]]}}",
				id, id, id, d.Role(id), d.Active(id), unusablePassword, g)
		}
	}
	fmt.Fprintln(w, "\n]")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Minter signs access tokens as rolegate serve would with the same
// environment (its key file, issuer, audience and lifetime), for users as
// they are stored: a token carries what the server checks against the
// stored user, whatever that is (the token epoch, and so on).
type Minter struct {
	tokens *auth.Tokens
	users  *store.Store
}

// NewMinter reads rolegate's configuration from getenv and opens its
// database. Close it when done.
func NewMinter(ctx context.Context, getenv func(string) string) (*Minter, error) {
	cfg, err := config.Load(getenv, flag.NewFlagSet("config", flag.ContinueOnError), nil)
	if err != nil {
		return nil, err
	}
	ks, err := auth.LoadKeys(cfg.JWTKeyFile)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return nil, err
	}
	return &Minter{users: st, tokens: auth.NewTokens(auth.TokenConfig{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, AccessTTL: cfg.AccessTTL, KeyFile: cfg.JWTKeyFile,
	}, ks)}, nil
}

// Close closes the database.
func (m *Minter) Close() error { return m.users.Close() }

// Access signs a new access token for stored user id. Every call gives a
// new token.
func (m *Minter) Access(ctx context.Context, id int64) (string, error) {
	u, err := m.users.UserByID(ctx, id)
	if err != nil {
		return "", fmt.Errorf("user %d: %w", id, err)
	}
	iss, err := m.tokens.IssueAccess(u)
	return iss.Token, err
}

// AccessAll signs a token for each of ids, parallel at a time; tokens[i]
// is for ids[i].
func (m *Minter) AccessAll(ctx context.Context, ids []int64, parallel int) ([]string, error) {
	tokens := make([]string, len(ids))
	errs := make([]error, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for i := range next {
				tokens[i], errs[i] = m.Access(ctx, ids[i])
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	return tokens, errors.Join(errs...)
}
