package peers

import "slices"

var owns = []Ownership{OwnerNone, OwnerSelf, OwnerOther}

// tenantCombos adds the tenant layer's combinations: every tenant role,
// and no membership, by every resource and action the tenant layer names
// and every ownership case, in an active tenant, and with no object in an
// inactive one; an inactive membership by every resource and action; and a
// member of each group the directory hands out by every resource and
// action, outside tenants and in a tenant they are no member of. The
// subjects are users of the system role user in no group (but the one
// asked about), so that what decides is the layer asked about.
func (g *generator) tenantCombos(v Vocabulary, d Directory) {
	for _, role := range append(slices.Clone(v.TenantRoles), "") {
		for _, res := range v.TenantResources {
			for _, act := range v.TenantActions {
				for _, own := range owns {
					s, t := d.member(g.rng, role, true, false)
					d.inTenant(g.add(s, res, act, own), t)
				}
				s, t := d.member(g.rng, role, false, false)
				d.inTenant(g.add(s, res, act, OwnerNone), t)
			}
		}
	}
	for _, res := range v.TenantResources {
		for _, act := range v.TenantActions {
			s, t := d.member(g.rng, "", true, true)
			d.inTenant(g.add(s, res, act, OwnerNone), t)
		}
	}
	if !slices.Contains(v.Groups, GroupSupport) {
		return
	}
	for _, res := range v.Resources {
		for _, act := range v.Actions {
			s, _ := d.groupMember(g.rng, GroupSupport)
			g.add(s, res, act, OwnerNone)
		}
	}
	for _, res := range v.TenantResources {
		for _, act := range v.TenantActions {
			s, t := d.groupMember(g.rng, GroupSupport)
			d.inTenant(g.add(s, res, act, OwnerNone), t)
		}
	}
}

// randomInTenant adds a question about a random subject in a random
// tenant, one of theirs half the time: three in four about a resource and
// action of the tenant layer, the others about any.
func (g *generator) randomInTenant(v Vocabulary, d Directory) {
	s := d.Pick(g.rng)
	t := g.rng.Int64N(d.TenantCount()) + 1
	if ms := d.Memberships(s.UserID); len(ms) > 0 && g.rng.IntN(2) == 0 {
		t = ms[g.rng.IntN(len(ms))].Tenant
	}
	res, act := v.TenantResources[g.rng.IntN(len(v.TenantResources))], v.TenantActions[g.rng.IntN(len(v.TenantActions))]
	if g.rng.IntN(4) == 0 {
		res, act = v.Resources[g.rng.IntN(len(v.Resources))], v.Actions[g.rng.IntN(len(v.Actions))]
	}
	d.inTenant(g.add(s, res, act, Ownership(g.rng.IntN(3))), t)
}
