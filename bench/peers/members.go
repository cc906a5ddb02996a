package peers

import (
	"context"

	"github.com/open-policy-agent/opa/v1/ast"
)

// memberKey is one user in one tenant.
type memberKey struct{ user, tenant int64 }

// Standings is the directory as an embedding service holds it in memory
// for rolegate and Casbin, which keep no users of their own: a flat table
// of active memberships (what rolegate's user cache keeps beside a user),
// the users' groups and the inactive tenants. OPA is given the same as
// data instead (Directory.OPAData) and looks it up itself.
type Standings struct {
	roles    map[memberKey]string
	groups   map[int64]string
	inactive map[int64]bool
}

// NewStandings builds the tables of d.
func NewStandings(d Directory) *Standings {
	s := &Standings{roles: map[memberKey]string{}, groups: map[int64]string{}, inactive: map[int64]bool{}}
	for t := int64(1); t <= d.TenantCount(); t++ {
		if !d.TenantActive(t) {
			s.inactive[t] = true
		}
	}
	for id := int64(1); id <= d.Size; id++ {
		for _, m := range d.Memberships(id) {
			if m.Active {
				s.roles[memberKey{id, m.Tenant}] = m.Role
			}
		}
		if g := d.group(id); g != "" {
			s.groups[id] = g
		}
	}
	return s
}

// Place fills in q's group and standing from the tables.
func (s *Standings) Place(q Question) Question {
	q.Group = s.groups[q.UserID]
	if q.Tenant != 0 {
		q.TenantRole, q.TenantInactive = s.roles[memberKey{q.UserID, q.Tenant}], s.inactive[q.Tenant]
	}
	return q
}

// RandomInTenants returns n random questions from seed, each in a random
// tenant of d (one of the subject's own half the time).
func RandomInTenants(v Vocabulary, d Directory, seed uint64, n int) []Question {
	g := newGenerator(seed)
	for range n {
		g.randomInTenant(v, d)
	}
	return g.shuffled()
}

// MemberDeciders prepares rolegate's Decide and Casbin's enforcers (each
// looking the standing up in s first, on every call) and OPA's prepared
// query (given only the ids: its data holds the memberships) for timing
// over qs, warm only: the questions repeat, as a user's do.
func MemberDeciders(engines []Engine, s *Standings, qs []Question) []Decider {
	var out []Decider
	for _, e := range engines {
		switch e := e.(type) {
		case Rolegate, *Casbin:
			out = append(out, Decider{Name: e.Name(), Warm: func(ctx context.Context, i int) (bool, error) {
				return e.Decide(ctx, s.Place(qs[i]))
			}})
		case *OPA:
			in := make([]ast.Value, len(qs))
			for i, q := range qs {
				in[i] = NewOPAInput(q).Value()
			}
			out = append(out, Decider{Name: e.Name(), Warm: func(ctx context.Context, i int) (bool, error) {
				return e.DecideInput(ctx, in[i])
			}})
		}
	}
	return out
}
