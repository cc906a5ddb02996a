package peers

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// TenantRoles are the tenant roles the directory hands out: the default
// policy's.
var TenantRoles = []string{"owner", "admin", "manager", "user", "readonly"}

// GroupSupport is the group the directory puts some users in: the default
// policy's one group.
const GroupSupport = "support"

// Membership is one user's membership of a tenant, as tenant_members holds
// it: an inactive one counts as none.
type Membership struct {
	Tenant int64
	Role   string
	Active bool
}

// mix is splitmix64's finalizer: the directory's memberships are a pure
// function of the user id, so that every engine, the import and the
// generator see the same ones without storing them.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// TenantCount is how many tenants the directory has: Tenants, or one for
// every 100 users when it is 0.
func (d Directory) TenantCount() int64 {
	if d.Tenants > 0 {
		return d.Tenants
	}
	return max(d.Size/100, 1)
}

// TenantActive reports whether tenant t is active: every 17th is not.
func (d Directory) TenantActive(t int64) bool { return t%17 != 0 }

// Slug is tenant t's slug, by which an HTTP question names it.
func (d Directory) Slug(t int64) string { return fmt.Sprintf("peers-%07d", t) }

// Memberships returns user id's memberships: none to three of them, in
// distinct random tenants, each with a random tenant role, one in eleven
// inactive. Users outside the directory (the cold sets) have none.
func (d Directory) Memberships(id int64) []Membership {
	if id < 1 || id > d.Size {
		return nil
	}
	h := mix(uint64(id))
	var out []Membership
	for k := range h % 4 {
		r := mix(h + k + 1)
		t := int64(r%uint64(d.TenantCount())) + 1
		if slices.ContainsFunc(out, func(m Membership) bool { return m.Tenant == t }) {
			continue
		}
		out = append(out, Membership{Tenant: t, Role: TenantRoles[(r>>32)%uint64(len(TenantRoles))], Active: (r>>48)%11 != 0})
	}
	return out
}

// Standing is user id's role in tenant t: the role of an active
// membership, or "" (rolegate's TenantContext.Role).
func (d Directory) Standing(id, t int64) string {
	for _, m := range d.Memberships(id) {
		if m.Tenant == t && m.Active {
			return m.Role
		}
	}
	return ""
}

// Groups returns the groups of user id: every seventh user of the
// directory is in support.
func (d Directory) Groups(id int64) []string {
	if id < 1 || id > d.Size || id%7 != 3 {
		return nil
	}
	return []string{GroupSupport}
}

// group is the one group of user id, or "".
func (d Directory) group(id int64) string {
	if g := d.Groups(id); len(g) > 0 {
		return g[0]
	}
	return ""
}

// MembershipTotal counts the directory's memberships, inactive ones
// included.
func (d Directory) MembershipTotal() int64 {
	var n int64
	for id := int64(1); id <= d.Size; id++ {
		n += int64(len(d.Memberships(id)))
	}
	return n
}

// member returns a random active user of role user in no group (so that
// only their tenant standing can allow a tenant question) with standing
// role in an active or inactive tenant (role "" for none: a non-member),
// and that tenant. inactiveMembership asks for a member whose membership
// is inactive (role is then ignored).
func (d Directory) member(rng *rand.Rand, role string, activeTenant, inactiveMembership bool) (Subject, int64) {
	for range 10_000_000 {
		id := rng.Int64N(d.Size) + 1
		if !d.Active(id) || d.Role(id) != RoleUser || d.group(id) != "" {
			continue
		}
		s := Subject{Role: RoleUser, UserID: id, HTTPUser: id}
		if role == "" && !inactiveMembership {
			t := rng.Int64N(d.TenantCount()) + 1
			if d.TenantActive(t) == activeTenant && !slices.ContainsFunc(d.Memberships(id), func(m Membership) bool { return m.Tenant == t }) {
				return s, t
			}
			continue
		}
		for _, m := range d.Memberships(id) {
			if d.TenantActive(m.Tenant) != activeTenant {
				continue
			}
			if inactiveMembership && !m.Active || !inactiveMembership && m.Active && m.Role == role {
				return s, m.Tenant
			}
		}
	}
	panic(fmt.Sprintf("a directory of %d users has no %q member of a tenant (active %v)", d.Size, role, activeTenant))
}

// groupMember returns a random active user of role user in group g who is
// no member of tenant t (0 for any).
func (d Directory) groupMember(rng *rand.Rand, g string) (Subject, int64) {
	for range 10_000_000 {
		id := rng.Int64N(d.Size) + 1
		if !d.Active(id) || d.Role(id) != RoleUser || d.group(id) != g {
			continue
		}
		t := rng.Int64N(d.TenantCount()) + 1
		if d.TenantActive(t) && d.Standing(id, t) == "" {
			return Subject{Role: RoleUser, UserID: id, HTTPUser: id, Group: g}, t
		}
	}
	panic(fmt.Sprintf("a directory of %d users has no member of group %q", d.Size, g))
}

// inTenant places a question in tenant t: the subject's standing there,
// and whether the tenant is inactive.
func (d Directory) inTenant(q *Question, t int64) {
	q.Tenant, q.TenantRole, q.TenantInactive = t, d.Standing(q.UserID, t), !d.TenantActive(t)
}
