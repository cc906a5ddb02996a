package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rolegate/rolegate/bench/peers"
)

// Files prepare writes into its directory.
const (
	questionsFile = "questions.jsonl"
	usersFile     = "users.csv"
	tenantsFile   = "tenants.json"
)

func requestFile(kind string) string { return kind + ".req" }

// Cold-token request files of run r (from 0).
func coldFile(what string, r int) string { return fmt.Sprintf("cold-%s-%d.req", what, r) }

func prepare(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("prepare", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write into (created)")
	n := fs.Int("n", 10_000, "how many questions")
	seed := fs.Uint64("seed", 1, "seed of the question set")
	users := fs.Int64("users", 10_000, "users in the directory the questions are about")
	tenantCount := fs.Int64("tenants", 0, "tenants in the directory (0: one for every 100 users)")
	coldRuns := fs.Int("cold-runs", 3, "cold-token runs to prepare, each with its own users")
	coldSize := fs.Int64("cold-size", 10_000, "users (and tokens) in each cold-token run")
	cerbosHTTP := fs.String("cerbos-http", "127.0.0.1:3592", "Cerbos's HTTP address")
	cerbosGRPC := fs.String("cerbos-grpc", "127.0.0.1:3593", "Cerbos's gRPC address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return fmt.Errorf("prepare: -out is required")
	case *users < 100:
		return fmt.Errorf("prepare: -users must be at least 100, so that the directory holds every role and inactive users")
	case *coldRuns < 0 || *coldSize < 1:
		return fmt.Errorf("prepare: -cold-runs must not be negative and -cold-size must be positive")
	}
	root, err := peers.RepoRoot()
	if err != nil {
		return err
	}
	p, err := peers.LoadPolicy(filepath.Join(root, "policy", "model.conf"), filepath.Join(root, "policy", "policy.csv"))
	if err != nil {
		return err
	}
	d := peers.Directory{Size: *users, Tenants: *tenantCount, ColdSize: *coldSize}
	qs, err := questions(ctx, p, d, filepath.Join(root, "bench", "peers", "policy", "rolegate.rego"), *seed, *n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d questions, every in-process engine agreeing with rolegate\n", len(qs))
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	steps := []func() error{
		func() error { return writeQuestions(filepath.Join(*out, questionsFile), qs) },
		func() error { return d.WriteUsers(filepath.Join(*out, usersFile), 2**coldRuns) },
		func() error { return d.WriteTenants(filepath.Join(*out, tenantsFile)) },
		func() error { return writePeerFiles(p, d, *out, *cerbosHTTP, *cerbosGRPC) },
		func() error { return writePeerRequests(*out, qs) },
		func() error { return writeSetup(*out, setup{Directory: d, ColdRuns: *coldRuns}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// questions generates the set, answers it with rolegate and checks every
// other in-process engine gives the same answers.
func questions(ctx context.Context, p peers.Policy, d peers.Directory, regoFile string, seed uint64, n int) ([]peers.Question, error) {
	v, err := p.Vocabulary()
	if err != nil {
		return nil, err
	}
	qs, err := peers.Generate(v, d, seed, n)
	if err != nil {
		return nil, err
	}
	engines, err := peers.InProcess(ctx, p, regoFile, d)
	if err != nil {
		return nil, err
	}
	if err := peers.Answer(ctx, engines[0], qs); err != nil {
		return nil, err
	}
	for _, e := range engines[1:] {
		if err := peers.Agree(ctx, e, qs); err != nil {
			return nil, err
		}
	}
	return qs, nil
}

func writeQuestions(path string, qs []peers.Question) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := peers.WriteQuestions(f, qs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writePeerFiles writes OPA's data document (the policy and the
// directory's memberships and groups) and Cerbos's policies and
// configuration.
func writePeerFiles(p peers.Policy, d peers.Directory, out, cerbosHTTP, cerbosGRPC string) error {
	data, err := p.OPAData(d)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "opa"), 0o755); err != nil {
		return err
	}
	if err := peers.WriteOPAData(filepath.Join(out, "opa", "data.json"), data); err != nil {
		return err
	}
	policies, err := p.CerbosPolicies()
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "cerbos", "policies")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, text := range policies {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(out, "cerbos", "config.yaml"), []byte(peers.CerbosConfig(dir, cerbosHTTP, cerbosGRPC)), 0o644)
}

// writePeerRequests writes OPA's and Cerbos's request files, which carry
// no credentials.
func writePeerRequests(out string, qs []peers.Question) error {
	for kind, build := range map[string]func(peers.Question) (peers.Request, error){
		peers.KindOPA: peers.OPARequest, peers.KindCerbos: peers.CerbosHTTPRequest,
	} {
		reqs := make([]peers.Request, len(qs))
		for i, q := range qs {
			var err error
			if reqs[i], err = build(q); err != nil {
				return err
			}
		}
		if err := peers.WriteRequests(filepath.Join(out, requestFile(kind)), reqs); err != nil {
			return err
		}
	}
	return nil
}

// setup is what tokens needs to know of the prepared set.
type setup struct {
	Directory peers.Directory `json:"directory"`
	ColdRuns  int             `json:"cold_runs"`
}

const setupFile = "setup.json"

func writeSetup(out string, r setup) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, setupFile), b, 0o644)
}

func readSetup(dir string) (setup, error) {
	var r setup
	b, err := os.ReadFile(filepath.Join(dir, setupFile))
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(b, &r)
}

// tokens signs access tokens for the stored users of a prepared set (run
// it after rolegate users import) and writes rolegate's request file and
// the cold-token files: run r's GET /me/ asks as the users of cold set 2r,
// its check as those of set 2r+1, and the baseline's GET /me/ as the users
// of set 2r with tokens of its own.
func tokens(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokens", flag.ContinueOnError)
	dir := fs.String("dir", "", "the directory peers prepare wrote")
	parallel := fs.Int("parallel", 8, "users read at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := readSetup(*dir)
	if err != nil {
		return err
	}
	qs, err := peers.ReadQuestions(filepath.Join(*dir, questionsFile))
	if err != nil {
		return err
	}
	m, err := peers.NewMinter(ctx, getenv)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := writeRolegateRequests(ctx, m, *dir, qs, *parallel); err != nil {
		return err
	}
	n := 0
	for k := range r.ColdRuns {
		for _, f := range []struct {
			what string
			set  int
			req  func(id int64, tok string) (peers.Request, error)
		}{
			{"me", 2 * k, meRequest},
			{"check", 2*k + 1, checkOwn},
			{"base", 2 * k, meRequest},
		} {
			ids := make([]int64, r.Directory.ColdSize)
			for i := range ids {
				ids[i] = r.Directory.ColdUser(f.set, i)
			}
			toks, err := m.AccessAll(ctx, ids, *parallel)
			if err != nil {
				return err
			}
			reqs := make([]peers.Request, len(ids))
			for i, id := range ids {
				if reqs[i], err = f.req(id, toks[i]); err != nil {
					return err
				}
			}
			if err := peers.WriteRequests(filepath.Join(*dir, coldFile(f.what, k)), reqs); err != nil {
				return err
			}
			n += len(ids)
		}
	}
	fmt.Fprintf(stderr, "signed access tokens for %d questions and %d cold requests\n", len(qs), n)
	return nil
}

// writeRolegateRequests signs a token for every user the questions are
// asked as, and writes rolegate's request file.
func writeRolegateRequests(ctx context.Context, m *peers.Minter, dir string, qs []peers.Question, parallel int) error {
	ids := []int64{peers.AdminID}
	seen := map[int64]bool{peers.AdminID: true}
	for _, q := range qs {
		if !seen[q.HTTPUser] {
			seen[q.HTTPUser] = true
			ids = append(ids, q.HTTPUser)
		}
	}
	toks, err := m.AccessAll(ctx, ids, parallel)
	if err != nil {
		return err
	}
	tokens := peers.Tokens{}
	for i, id := range ids {
		tokens[id] = toks[i]
	}
	reqs := make([]peers.Request, len(qs))
	for i, q := range qs {
		if reqs[i], err = peers.RolegateRequest(q, tokens); err != nil {
			return err
		}
	}
	return peers.WriteRequests(filepath.Join(dir, requestFile(peers.KindRolegate)), reqs)
}
func meRequest(_ int64, tok string) (peers.Request, error) {
	return peers.Request{Method: "GET", Path: "/me/", Auth: "Bearer " + tok}, nil
}

// checkOwn asks whether the user may read their own account.
func checkOwn(id int64, tok string) (peers.Request, error) {
	b, err := json.Marshal(map[string]any{"resource": "users", "action": "read", "owner_id": id})
	return peers.Request{Method: "POST", Path: "/v1/authz/check", Auth: "Bearer " + tok, Body: b}, err
}
