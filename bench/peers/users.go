package peers

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/models"
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

// Minter signs access tokens as rolegate serve would with the same
// environment: its key file, issuer, audience and lifetime.
type Minter struct{ tokens *auth.Tokens }

// NewMinter reads rolegate's configuration from getenv.
func NewMinter(getenv func(string) string) (*Minter, error) {
	cfg, err := config.Load(getenv, flag.NewFlagSet("config", flag.ContinueOnError), nil)
	if err != nil {
		return nil, err
	}
	ks, err := auth.LoadKeys(cfg.JWTKeyFile)
	if err != nil {
		return nil, err
	}
	return &Minter{tokens: auth.NewTokens(auth.TokenConfig{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, AccessTTL: cfg.AccessTTL, KeyFile: cfg.JWTKeyFile,
	}, ks)}, nil
}

// Access signs a new access token for user id (token epoch 0, as imported
// users have). Every call gives a new token.
func (m *Minter) Access(id int64) (string, error) {
	iss, err := m.tokens.IssueAccess(&models.User{ID: id})
	return iss.Token, err
}
