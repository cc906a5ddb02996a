// Package peers puts rolegate's decisions side by side with the engines a
// team would pick instead: OPA (in process through its rego package, and
// as a server), plain Casbin (Enforcer and SyncedCachedEnforcer) and Cerbos
// (as a server). It generates one set of questions, asks every engine each
// of them, and refuses to time anything until every engine agrees with
// rolegate on every question. run.sh drives a whole run; see README.md.
//
// Every engine is given the same policy: rolegate's model.conf and
// policy.csv, translated once by hand into Rego (policy/rolegate.rego)
// whose grants are data derived from policy.csv (Grants), and into Cerbos
// resource policies (CerbosPolicies). A question names the subject's role
// and id, the resource type, the owner id and the action; a tenant layer
// adds one more attribute to Question, Input and the policies.
package peers
