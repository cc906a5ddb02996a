package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"time"

	"github.com/rolegate/rolegate/bench/peers"
)

// members times the in-process engines on questions in tenants, with a
// directory of about memberships memberships (two users in three with
// any, 100,000 tenants by default): rolegate's Decide and Casbin after a
// look-up in an in-memory table of standings (peers.Standings), OPA with
// the memberships in its data. It prints what building OPA's data and
// prepared query took ("OPADATA\t<memberships>\t<seconds>\t<heap MB>"),
// the same for the tables ("TABLES\t..."), and each timing as
// "MEMBERS\t<memberships>\t<engine>\twarm\t<wall ns>\t<CPU ns>\t<decisions>".
func members(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("members", flag.ContinueOnError)
	want := fs.Int64("memberships", 1_000_000, "memberships, about")
	tenants := fs.Int64("tenants", 100_000, "tenants")
	n := fs.Int("n", 2_000, "questions")
	runs := fs.Int("runs", 3, "timings of each engine")
	benchtime := fs.Duration("benchtime", time.Second, "how long each timing runs, at least")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := peers.RepoRoot()
	if err != nil {
		return err
	}
	p, err := peers.LoadPolicy(filepath.Join(root, "policy", "model.conf"), filepath.Join(root, "policy", "policy.csv"))
	if err != nil {
		return err
	}
	d := peers.Directory{Size: max(*want*2/3, 100), Tenants: *tenants}
	total := d.MembershipTotal()
	var tables *peers.Standings
	secs, mb := measure(func() { tables = peers.NewStandings(d) })
	fmt.Fprintf(stdout, "TABLES\t%d\t%.2f\t%.0f\n", total, secs, mb)
	var opa *peers.OPA
	secs, mb = measure(func() {
		var data map[string]any
		if data, err = p.OPAData(d); err == nil {
			opa, err = peers.NewOPA(ctx, filepath.Join(root, "bench", "peers", "policy", "rolegate.rego"), data)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "OPADATA\t%d\t%.2f\t%.0f\n", total, secs, mb)
	plain, _, err := peers.NewCasbin(p.ModelFile, p.PolicyFile)
	if err != nil {
		return err
	}
	cached, _, err := peers.NewCachedCasbin(p.ModelFile, p.PolicyFile)
	if err != nil {
		return err
	}
	engines := []peers.Engine{peers.Rolegate{Policy: p.Rolegate}, opa, plain, cached}
	v, err := p.Vocabulary()
	if err != nil {
		return err
	}
	qs := peers.RandomInTenants(v, d, 1, *n)
	for i := range qs {
		qs[i] = tables.Place(qs[i])
	}
	if err := peers.Answer(ctx, engines[0], qs); err != nil {
		return err
	}
	for _, e := range engines[1:] {
		if err := peers.Agree(ctx, e, qs); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "%d memberships: %d questions in tenants, every engine agreeing with rolegate\n", total, len(qs))
	deciders := peers.MemberDeciders(engines, tables, qs)
	for range *runs {
		for _, dc := range deciders {
			t, err := peers.Time(ctx, dc, qs, false, *benchtime)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "MEMBERS\t%d\t%s\twarm\t%.1f\t%.1f\t%d\n", total, dc.Name, t.WallNs, t.CPUNs, t.Ops)
		}
	}
	return nil
}

// measure runs f and returns how long it took and how much more heap is
// in use after it, in MB, after a collection.
func measure(f func()) (float64, float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	secs := time.Since(start).Seconds()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return secs, (float64(after.HeapInuse) - float64(before.HeapInuse)) / (1 << 20)
}
