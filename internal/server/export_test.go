package server

// PurgeAudit lets the tests run the audit retention purge of the
// background loop with a batch size of their own.
var PurgeAudit = (*Server).purgeAudit
