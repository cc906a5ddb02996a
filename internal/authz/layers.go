package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/models"
)

// The prefixes that put a policy subject in a layer other than the system
// roles. A subject without ":" is a system role (users.role).
const (
	PrefixTenant     = "tenant:"      // a tenant role: a membership's role
	PrefixGroup      = "group:"       // a group: user_groups
	PrefixBreakGlass = "break_glass:" // an active break-glass grant, by mode
)

// layer is one of the layers of a subject, in the order Decide asks them.
type layer uint8

const (
	layerRole layer = iota
	layerGroup
	layerTenant
	layerBreakGlass
)

var (
	layerPrefixes = [...]string{layerRole: "", layerGroup: PrefixGroup, layerTenant: PrefixTenant, layerBreakGlass: PrefixBreakGlass}
	layerVias     = [...]string{layerRole: models.ViaRole, layerGroup: models.ViaGroup, layerTenant: models.ViaMembership, layerBreakGlass: models.ViaBreakGlass}
)

// subject is name as the policy writes it in l: "tenant:" + name, say.
// It is always a new string, never name itself (a Builder copies what it
// is given), so that what Decide hands Casbin or an error keeps no
// reference to the caller's Subject: the compiler can then keep a
// caller's Subject, and the TenantContext it points to, off the heap.
func (l layer) subject(name string) string {
	var b strings.Builder
	b.Grow(len(layerPrefixes[l]) + len(name))
	b.WriteString(layerPrefixes[l])
	b.WriteString(name)
	return b.String()
}

func (l layer) via() string { return layerVias[l] }

// askable reports whether name can be asked about in any layer: a name
// is never empty and never holds ":", so that a users.role of
// "tenant:owner" is no tenant role, and "group:a:b" is no group.
func askable(name string) bool { return name != "" && !strings.Contains(name, ":") }

// parseSubject splits a policy subject into its layer and name, or returns
// why it is not a subject.
func parseSubject(s string) (layer, string, string) {
	if !strings.Contains(s, ":") {
		return layerRole, s, ""
	}
	for l := layerGroup; l <= layerBreakGlass; l++ {
		name, ok := strings.CutPrefix(s, layerPrefixes[l])
		if !ok {
			continue
		}
		switch {
		case !askable(name):
			return 0, "", fmt.Sprintf("subject %q: want %s followed by a name without \":\"", s, layerPrefixes[l])
		case l == layerGroup && strings.Contains(name, "/"):
			return 0, "", fmt.Sprintf("subject %q: a group name holds no \"/\" (it is one segment of /v1/groups/{name} and /console/groups/{name})", s)
		case l == layerBreakGlass && name != models.BreakGlassRead && name != models.BreakGlassWrite:
			return 0, "", fmt.Sprintf("subject %q: a break-glass grant is %s%s or %s%s", s,
				PrefixBreakGlass, models.BreakGlassRead, PrefixBreakGlass, models.BreakGlassWrite)
		}
		return l, name, ""
	}
	return 0, "", fmt.Sprintf("subject %q: a subject is a system role (a name without \":\"), or %s<role>, %s<name>, %s%s or %s%s",
		s, PrefixTenant, PrefixGroup, PrefixBreakGlass, models.BreakGlassRead, PrefixBreakGlass, models.BreakGlassWrite)
}

// SubjectOf returns the subject Decide asks about exactly as the policy
// subject name, with user id id: a system role, one group, a tenant role
// or a break-glass grant inside a tenant. It returns false for a name that
// is none of these.
func SubjectOf(name string, id int64) (models.Subject, bool) {
	l, bare, reason := parseSubject(name)
	if reason != "" || !askable(bare) {
		return models.Subject{}, false
	}
	sub := models.Subject{ID: id}
	switch l {
	case layerRole:
		sub.Role = bare
	case layerGroup:
		sub.Groups = []string{bare}
	case layerTenant:
		sub.Tenant = &models.TenantContext{Role: bare}
	case layerBreakGlass:
		sub.Tenant = &models.TenantContext{BreakGlass: bare}
	}
	return sub, true
}

// subjectColumn is the position of the subject among the fields of a
// grant of type ptype (the model's definition names it sub; the first
// field otherwise).
func subjectColumn(ptype string, tokens []string) int {
	if i := slices.Index(tokens, ptype+"_sub"); i >= 0 {
		return i
	}
	return 0
}

// subjects returns the policy subjects r names: a grant's subject, or
// both sides of a "g" inheritance line. Other role definitions, such as
// g2 over resources, name no subjects.
func (r rule) subjects() []string {
	switch {
	case r.sec == "p":
		return r.vals[r.sub : r.sub+1]
	case r.ptype == "g":
		return r.vals[:2]
	}
	return nil
}

// layerNames returns the names of the subjects of layer l that rules
// name, sorted; the anonymous system role is not one.
func layerNames(rules []rule, l layer) []string {
	var out []string
	for _, r := range rules {
		for _, s := range r.subjects() {
			sl, name, reason := parseSubject(s)
			if reason == "" && sl == l && !(l == layerRole && name == models.AnonymousRole) && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}
