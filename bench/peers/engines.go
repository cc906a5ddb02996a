package peers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rolegate/rolegate/bench"
)

// Synthetic writes bench.SyntheticPolicy(lines) into dir and loads it with
// the shipped model: the policies of 10, 1,000 and 10,000 lines the
// in-process comparison runs at.
func Synthetic(modelFile, dir string, lines int) (Policy, error) {
	path := filepath.Join(dir, fmt.Sprintf("policy-%d.csv", lines))
	if err := os.WriteFile(path, []byte(bench.SyntheticPolicy(lines)), 0o600); err != nil {
		return Policy{}, err
	}
	return LoadPolicy(modelFile, path)
}

// InProcess is every engine that runs in this process on p and the
// directory d: rolegate's Decide, OPA's prepared query over regoFile (with
// d's memberships and groups as data), and Casbin's Enforcer and
// SyncedCachedEnforcer.
func InProcess(ctx context.Context, p Policy, regoFile string, d Directory) ([]Engine, error) {
	data, err := p.OPAData(d)
	if err != nil {
		return nil, err
	}
	opa, err := NewOPA(ctx, regoFile, data)
	if err != nil {
		return nil, err
	}
	plain, _, err := NewCasbin(p.ModelFile, p.PolicyFile)
	if err != nil {
		return nil, err
	}
	cached, _, err := NewCachedCasbin(p.ModelFile, p.PolicyFile)
	if err != nil {
		return nil, err
	}
	return []Engine{Rolegate{p.Rolegate}, opa, plain, cached}, nil
}
