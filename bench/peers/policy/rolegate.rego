# rolegate's access model (policy/model.conf) translated by hand into Rego,
# for the side-by-side comparison in bench/peers. The grants themselves are
# data, derived line by line from policy/policy.csv (see data.json beside
# this file for the default policy), so that one Rego file serves the
# shipped policy and the generated policies of 1,000 and 10,000 lines.
#
# Input, one question:
#   {"subject":  {"role": "user", "id": 7},        id absent: anonymous
#    "resource": {"type": "users", "owner_id": 7},  owner_id absent: no object
#    "action":   "update"}
#
# Data (data.rolegate):
#   grants[role][resource][action]  the scopes granted: "any" and/or "own"
#   roles[role]                     the role and every role it inherits
#                                   through policy.csv's g lines, the
#                                   transitive closure Casbin's role
#                                   manager builds when it loads the file
#
# A tenant layer adds input.tenant and data.rolegate.memberships (a user's
# roles in each tenant) and one more `some role in ...` source below.
package rolegate.authz

# Anything not granted is denied (model.conf: some(where (p.eft == allow))).
default allow := false

# allow is model.conf's matcher: a grant to the caller's role, or to a role
# it inherits, names the resource and the action, and its scope matches.
allow if {
	some role in data.rolegate.roles[input.subject.role]
	some scope in data.rolegate.grants[role][input.resource.type][input.action]
	scope_matches(scope)
}

# "any": every object of the resource.
scope_matches("any")

# "own": only the caller's own object. An anonymous caller (no id) and a
# question about no particular object (no owner_id) never match.
scope_matches("own") if {
	input.subject.id > 0
	input.subject.id == input.resource.owner_id
}
