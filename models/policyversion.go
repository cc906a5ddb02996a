package models

import "time"

// PolicyVersion is one published policy: the text of its model, policy,
// route table and tests, as "rolegate policy publish" stored it. The
// newest (highest ID) is the one every replica serves in database mode; a
// rollback publishes an older one's text again as the newest.
type PolicyVersion struct {
	ID          int64
	Version     string // sha256 of the model, the policy and the route table
	Model       string
	Policy      string
	Routes      string
	Tests       string // may be empty
	PublishedAt time.Time
	PublishedBy string
	Comment     string
}

// Replica is one server's report of the policy it serves, in database
// mode: its instance id (host, process and a random suffix), the version
// in force, when that version was loaded, and when it last reported.
type Replica struct {
	Instance string
	Version  string
	LoadedAt time.Time
	SeenAt   time.Time
}
