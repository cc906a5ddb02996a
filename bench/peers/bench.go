package peers

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/rolegate/rolegate/models"
)

// Timing is one engine's cost per decision over one timed loop.
type Timing struct {
	Ops    int
	WallNs float64 // wall-clock ns per decision
	CPUNs  float64 // this process's CPU ns per decision (user+system, every thread: GC included)
}

// Decider is one engine prepared for timing: Warm answers question i of
// the set, from inputs built beforehand; Cold answers it with the subject
// and owner ids moved by shift, built on the call, so that no cache has
// seen those ids: what a new user's, or a new object's, first question
// costs. (rolegate's cache keys the ids by how they relate, so for it that
// is a hit; its first question after a policy change is not.)
type Decider struct {
	Name string
	Warm func(ctx context.Context, i int) (bool, error)
	Cold func(ctx context.Context, i int, shift int64) (bool, error)
}

// Deciders prepares the in-process engines (as InProcess returns them) for
// qs.
func Deciders(engines []Engine, qs []Question) ([]Decider, error) {
	var out []Decider
	for _, e := range engines {
		switch e := e.(type) {
		case Rolegate:
			out = append(out, rolegateDecider(e, qs))
		case *OPA:
			out = append(out, opaDecider(e, qs))
		case *Casbin:
			out = append(out, casbinDecider(e, qs))
		default:
			return nil, fmt.Errorf("no timing for %s", e.Name())
		}
	}
	return out, nil
}

func shifted(q Question, shift int64) Question {
	if q.UserID != 0 {
		q.UserID += shift
	}
	if q.OwnerID != 0 {
		q.OwnerID += shift
	}
	return q
}

func rolegateDecider(e Rolegate, qs []Question) Decider {
	type args struct {
		sub models.Subject
		res models.Resource
	}
	in := make([]args, len(qs))
	for i, q := range qs {
		in[i] = args{models.Subject{ID: q.UserID, Role: q.Role}, models.Resource{Type: q.Resource, OwnerID: q.OwnerID}}
	}
	return Decider{
		Name: e.Name(),
		Warm: func(_ context.Context, i int) (bool, error) {
			d, err := e.Policy.Decide(in[i].sub, in[i].res, qs[i].Action)
			return d.Allowed, err
		},
		Cold: func(ctx context.Context, i int, shift int64) (bool, error) {
			return e.Decide(ctx, shifted(qs[i], shift))
		},
	}
}

func opaDecider(e *OPA, qs []Question) Decider {
	in := make([]ast.Value, len(qs))
	for i, q := range qs {
		in[i] = NewOPAInput(q).Value()
	}
	return Decider{
		Name: e.Name(),
		Warm: func(ctx context.Context, i int) (bool, error) { return e.DecideInput(ctx, in[i]) },
		Cold: func(ctx context.Context, i int, shift int64) (bool, error) {
			return e.DecideInput(ctx, NewOPAInput(shifted(qs[i], shift)).Value())
		},
	}
}

func casbinDecider(e *Casbin, qs []Question) Decider {
	in := make([][]any, len(qs))
	for i, q := range qs {
		in[i] = CasbinRequest(q)
	}
	return Decider{
		Name: e.Name(),
		Warm: func(_ context.Context, i int) (bool, error) { return e.e.Enforce(in[i]...) },
		Cold: func(_ context.Context, i int, shift int64) (bool, error) {
			return e.e.Enforce(CasbinRequest(shifted(qs[i], shift))...)
		},
	}
}

// ColdShift moves ids past every id a question set holds.
const ColdShift = 2 * MaxUserID

// Time runs d over qs, round and round, for at least dur (and at least
// one pass when warm, after an untimed pass that fills any cache), and
// checks every answer against Want. cold asks each question with ids no
// earlier call used.
func Time(ctx context.Context, d Decider, qs []Question, cold bool, dur time.Duration) (Timing, error) {
	call := func(i, op int) (bool, error) {
		if cold {
			return d.Cold(ctx, i, int64(op+1)*ColdShift)
		}
		return d.Warm(ctx, i)
	}
	if !cold {
		for i := range qs {
			if _, err := d.Warm(ctx, i); err != nil {
				return Timing{}, err
			}
		}
	}
	startWall, startCPU := time.Now(), cpuTime()
	ops := 0
	for ; ops < 100_000_000; ops++ {
		if ops%64 == 0 && time.Since(startWall) >= dur && (cold || ops >= len(qs)) {
			break
		}
		i := ops % len(qs)
		got, err := call(i, ops)
		if err != nil {
			return Timing{}, fmt.Errorf("%s: question %d (%s): %w", d.Name, i+1, qs[i], err)
		}
		if got != qs[i].Want {
			return Timing{}, &Disagreement{Engine: d.Name, Index: i + 1, Question: qs[i], Got: got}
		}
	}
	wall, cpu := time.Since(startWall), cpuTime()-startCPU
	return Timing{Ops: ops, WallNs: float64(wall.Nanoseconds()) / float64(ops), CPUNs: float64(cpu.Nanoseconds()) / float64(ops)}, nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
