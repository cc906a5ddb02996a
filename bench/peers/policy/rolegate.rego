# rolegate's access model (policy/model.conf) and the way rolegate asks it
# (authz.Policy.Decide, and POST /v1/authz/check in a tenant) translated by
# hand into Rego, for the side-by-side comparison in bench/peers. The
# grants themselves are data, derived line by line from policy/policy.csv
# (see data.json beside this file for the default policy), so that one
# Rego file serves the shipped policy and the generated policies of 1,000
# and 10,000 lines; so are the users' groups and tenant memberships.
#
# Input, one question:
#   {"subject":  {"role": "user", "id": 7},        id absent: anonymous
#    "resource": {"type": "users", "owner_id": 7},  owner_id absent: no object
#    "action":   "update",
#    "tenant":   "12"}                              absent: outside tenants
#
# Data (data.rolegate), ids as decimal strings:
#   grants[subject][resource][action]  the scopes granted: "any" and/or "own";
#                                      a subject is a system role, or
#                                      "group:<name>", "tenant:<role>", ...
#   roles[subject]                     the subject and every subject it
#                                      inherits through policy.csv's g
#                                      lines, the transitive closure
#                                      Casbin's role manager builds
#   groups[user id]                    the user's groups
#   memberships[user id][tenant id]    {"role": tenant role, "active": bool}
#   tenants[tenant id]                 {"active": bool}
package rolegate.authz

# Anything not granted is denied (model.conf: some(where (p.eft == allow))).
default allow := false

# Outside tenants, the system layer decides: the caller's role, then each
# of their groups.
allow if {
	not input.tenant
	role_allows
}

allow if {
	not input.tenant
	group_allows
}

# In a tenant the caller may see, the system layer may allow...
allow if {
	visible
	role_allows
}

allow if {
	visible
	group_allows
}

# ...and so may their tenant role, unless the tenant is inactive.
allow if {
	visible
	data.rolegate.tenants[input.tenant].active
	tenant_role_allows
}

# Each layer is model.conf's matcher for its subject: a grant to the
# subject, or to a subject it inherits, names the resource and the
# action, and its scope matches.
role_allows if {
	some role in data.rolegate.roles[input.subject.role]
	some scope in data.rolegate.grants[role][input.resource.type][input.action]
	scope_matches(scope)
}

group_allows if {
	some g in data.rolegate.groups[user_key]
	some role in data.rolegate.roles[concat("", ["group:", g])]
	some scope in data.rolegate.grants[role][input.resource.type][input.action]
	scope_matches(scope)
}

tenant_role_allows if {
	some role in data.rolegate.roles[tenant_subject]
	some scope in data.rolegate.grants[role][input.resource.type][input.action]
	scope_matches(scope)
}

# The caller's ids as data's keys, and their subject in the tenant layer:
# the role of their active membership of the tenant.
user_key := format_int(input.subject.id, 10)

tenant_subject := concat("", ["tenant:", m.role]) if {
	m := data.rolegate.memberships[user_key][input.tenant]
	m.active
}

# A tenant the caller may not read (tenant, read: a grant of any scope
# "any", there being no object), or that does not exist, is a plain deny.
visible if {
	data.rolegate.tenants[input.tenant]
	reads_tenant(input.subject.role)
}

visible if {
	data.rolegate.tenants[input.tenant]
	some g in data.rolegate.groups[user_key]
	reads_tenant(concat("", ["group:", g]))
}

visible if {
	data.rolegate.tenants[input.tenant]
	reads_tenant(tenant_subject)
}

reads_tenant(subject) if {
	some role in data.rolegate.roles[subject]
	"any" in data.rolegate.grants[role].tenant.read
}

# "any": every object of the resource.
scope_matches("any")

# "own": only the caller's own object. An anonymous caller (no id) and a
# question about no particular object (no owner_id) never match.
scope_matches("own") if {
	input.subject.id > 0
	input.subject.id == input.resource.owner_id
}
