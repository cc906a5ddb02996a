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

subject_id := object.get(input.subject, "id", 0)

owner_id := object.get(input.resource, "owner_id", 0)

user_key := format_int(subject_id, 10)

# The system layer: the caller's role, then each of their groups.
system_subjects contains input.subject.role

system_subjects contains concat("", ["group:", g]) if {
	some g in data.rolegate.groups[user_key]
}

# The tenant layer: the role of the caller's active membership of the tenant.
tenant_subjects contains concat("", ["tenant:", m.role]) if {
	m := data.rolegate.memberships[user_key][input.tenant]
	m.active
}

# Outside tenants, the system layer decides.
allow if {
	not input.tenant
	granted(system_subjects, input.resource.type, owner_id, input.action)
}

# In a tenant the caller may see, the system layer may allow...
allow if {
	visible
	granted(system_subjects, input.resource.type, owner_id, input.action)
}

# ...and so may their tenant role, unless the tenant is inactive.
allow if {
	visible
	data.rolegate.tenants[input.tenant].active
	granted(tenant_subjects, input.resource.type, owner_id, input.action)
}

# A tenant the caller may not read, or that does not exist, is a plain deny.
visible if {
	data.rolegate.tenants[input.tenant]
	granted(system_subjects | tenant_subjects, "tenant", 0, "read")
}

# granted is model.conf's matcher: a grant to one of subjects, or to a
# subject it inherits, names the resource and the action, and its scope
# matches.
granted(subjects, resource, owner, action) if {
	some s in subjects
	some role in data.rolegate.roles[s]
	some scope in data.rolegate.grants[role][resource][action]
	scope_matches(scope, owner)
}

# "any": every object of the resource.
scope_matches("any", _)

# "own": only the caller's own object. An anonymous caller (no id) and a
# question about no particular object (no owner_id) never match.
scope_matches("own", owner) if {
	subject_id > 0
	subject_id == owner
}
