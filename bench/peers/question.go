package peers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/rolegate/rolegate/models"
)

// Question is one request to every engine: may the subject (a role and a
// user id; id 0 for an anonymous caller) do Action on an object of
// Resource owned by OwnerID (0 for none: a list, an area)? Want is
// rolegate's answer, filled in by Answer. HTTPUser is the stored user an
// HTTP request to rolegate names: the subject, or for the anonymous role
// an inactive user (see RolegateRequest); 0 when there is none.
//
// Group is the subject's group ("" for none). Tenant, when not 0, is the
// tenant the question is asked in; TenantRole is then the subject's
// standing there (the role of an active membership, "" for none) and
// TenantInactive whether the tenant is inactive: what rolegate's store
// gives its decision, and what an engine without a store of its own is
// given (OPA looks the standing up in its data instead).
type Question struct {
	Role           string `json:"role"`
	UserID         int64  `json:"user_id,omitempty"`
	Group          string `json:"group,omitempty"`
	Resource       string `json:"resource"`
	OwnerID        int64  `json:"owner_id,omitempty"`
	Action         string `json:"action"`
	Tenant         int64  `json:"tenant,omitempty"`
	TenantRole     string `json:"tenant_role,omitempty"`
	TenantInactive bool   `json:"tenant_inactive,omitempty"`
	Want           bool   `json:"want"`
	HTTPUser       int64  `json:"http_user,omitempty"`
}

func (q Question) String() string {
	s := fmt.Sprintf("role=%s user_id=%d resource=%s owner_id=%d action=%s", q.Role, q.UserID, q.Resource, q.OwnerID, q.Action)
	if q.Group != "" {
		s += " group=" + q.Group
	}
	if q.Tenant != 0 {
		s += fmt.Sprintf(" tenant=%d tenant_role=%q tenant_inactive=%v", q.Tenant, q.TenantRole, q.TenantInactive)
	}
	return s
}

// Directory is the users questions are about, as run.sh seeds them into
// rolegate's database (WriteUsers): ids 1..Size, every 50th from 1 an admin, every
// 10th a staff member, the rest users, and every 97th inactive (rolegate
// answers for an inactive user as for an anonymous caller, so questions
// about the anonymous role name one of them over HTTP). The roles are the
// default policy's system roles.
//
// Tenants (Directory.Memberships) and groups (Directory.Groups) are pure
// functions of the ids too.
type Directory struct {
	Size int64
	// Tenants is how many tenants there are (TenantCount: 0 is one for
	// every 100 users).
	Tenants int64
	// ColdSize is how many users each cold-token set has (see ColdUser).
	ColdSize int64
}

// Roles the directory hands out.
const (
	RoleAdmin = "admin"
	RoleStaff = "staff"
	RoleUser  = "user"
)

// Role is the stored role of user id.
func (d Directory) Role(id int64) string {
	switch {
	case id%50 == 1:
		return RoleAdmin
	case id%10 == 0:
		return RoleStaff
	}
	return RoleUser
}

// Active reports whether user id may sign in.
func (d Directory) Active(id int64) bool { return id%97 != 0 }

// AdminID is the user who asks about anonymous subjects over HTTP: rolegate
// lets only a role granted (authz, check_others) ask about someone else.
const AdminID = 1

// Subject is who a question is about: a role and the user id the question
// carries (0 for anonymous), and the stored user an HTTP request names
// (Question.HTTPUser).
type Subject struct {
	Role     string
	UserID   int64
	HTTPUser int64
	Group    string
}

// Population hands out the subjects of questions.
type Population interface {
	// Pick returns a random subject.
	Pick(rng *rand.Rand) Subject
	// PickRole returns a random subject of role.
	PickRole(rng *rand.Rand, role string) Subject
}

// Pick returns a random user of the directory; one pick in twenty, and
// every inactive user, is an anonymous subject.
func (d Directory) Pick(rng *rand.Rand) Subject {
	id := rng.Int64N(d.Size) + 1
	if rng.IntN(20) == 0 || !d.Active(id) {
		return d.PickRole(rng, models.AnonymousRole)
	}
	return Subject{Role: d.Role(id), UserID: id, HTTPUser: id, Group: d.group(id)}
}

// PickRole returns a random active user of role, or for the anonymous role
// an inactive one, which the question itself does not name.
func (d Directory) PickRole(rng *rand.Rand, role string) Subject {
	for range 100_000 {
		id := rng.Int64N(d.Size) + 1
		if role == models.AnonymousRole && !d.Active(id) {
			return Subject{Role: role, HTTPUser: id}
		}
		if d.Active(id) && d.Role(id) == role {
			return Subject{Role: role, UserID: id, HTTPUser: id, Group: d.group(id)}
		}
	}
	panic(fmt.Sprintf("a directory of %d users has no %s", d.Size, role))
}

// Anyone is a population without a directory, for policies whose roles no
// stored user holds (the generated ones): any role of Roles, equally often,
// with a random id up to MaxUserID (none for anonymous).
type Anyone struct{ Roles []string }

// MaxUserID bounds the random ids of Anyone, and of owners of someone
// else's object; neither need exist for a decision.
const MaxUserID = 1_000_000

// Pick returns a random subject.
func (a Anyone) Pick(rng *rand.Rand) Subject {
	return a.PickRole(rng, a.Roles[rng.IntN(len(a.Roles))])
}

// PickRole returns a subject of role with a random id.
func (a Anyone) PickRole(rng *rand.Rand, role string) Subject {
	if role == models.AnonymousRole {
		return Subject{Role: role}
	}
	id := rng.Int64N(MaxUserID) + 1
	return Subject{Role: role, UserID: id, HTTPUser: id}
}

// Ownership is how a question's object relates to its subject.
type Ownership int

// The ownership cases.
const (
	OwnerNone  Ownership = iota // no object: a list, an area
	OwnerSelf                   // the subject's own object
	OwnerOther                  // someone else's
)

// generator builds questions from one seeded source.
type generator struct {
	rng *rand.Rand
	qs  []Question
}

func newGenerator(seed uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

func (g *generator) add(s Subject, resource, action string, own Ownership) *Question {
	q := Question{Role: s.Role, UserID: s.UserID, Group: s.Group, Resource: resource, Action: action, HTTPUser: s.HTTPUser}
	if own == OwnerSelf && s.UserID == 0 {
		own = OwnerOther // an anonymous caller owns nothing
	}
	switch own {
	case OwnerSelf:
		q.OwnerID = q.UserID
	case OwnerOther:
		for q.OwnerID == 0 || q.OwnerID == q.UserID {
			q.OwnerID = g.rng.Int64N(MaxUserID) + 1
		}
	}
	g.qs = append(g.qs, q)
	return &g.qs[len(g.qs)-1]
}

// random adds one question about a random subject, resource, action and
// ownership case.
func (g *generator) random(v Vocabulary, pop Population) {
	g.add(pop.Pick(g.rng), v.Resources[g.rng.IntN(len(v.Resources))], v.Actions[g.rng.IntN(len(v.Actions))], Ownership(g.rng.IntN(3)))
}

// shuffled returns the questions in a random order, so that any prefix
// mixes cases.
func (g *generator) shuffled() []Question {
	g.rng.Shuffle(len(g.qs), func(i, j int) { g.qs[i], g.qs[j] = g.qs[j], g.qs[i] })
	return g.qs
}

// Generate returns n questions from seed about the directory d: first
// every combination of system role, resource, action and ownership case
// the vocabulary allows (an anonymous caller owns nothing), each about a
// random subject of that role, then those of the tenant layer and groups
// (tenantCombos), then random questions about random subjects, one in
// three in a random tenant. n must cover the combinations.
func Generate(v Vocabulary, d Directory, seed uint64, n int) ([]Question, error) {
	g := newGenerator(seed)
	for _, role := range v.Roles {
		for _, res := range v.Resources {
			for _, act := range v.Actions {
				for _, own := range []Ownership{OwnerNone, OwnerSelf, OwnerOther} {
					if role == models.AnonymousRole && own == OwnerSelf {
						continue
					}
					g.add(d.PickRole(g.rng, role), res, act, own)
				}
			}
		}
	}
	g.tenantCombos(v, d)
	if n < len(g.qs) {
		return nil, fmt.Errorf("%d questions cannot cover the %d combinations of role, resource, action and ownership", n, len(g.qs))
	}
	for len(g.qs) < n {
		if g.rng.IntN(3) == 0 {
			g.randomInTenant(v, d)
		} else {
			g.random(v, d)
		}
	}
	return g.shuffled(), nil
}

// Random returns n random questions from seed, for policies too large for
// every combination to be asked.
func Random(v Vocabulary, pop Population, seed uint64, n int) []Question {
	g := newGenerator(seed)
	for range n {
		g.random(v, pop)
	}
	return g.shuffled()
}

// WriteQuestions writes one JSON question a line.
func WriteQuestions(w io.Writer, qs []Question) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, q := range qs {
		if err := enc.Encode(q); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadQuestions reads a file WriteQuestions wrote.
func ReadQuestions(path string) ([]Question, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var qs []Question
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var q Question
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		qs = append(qs, q)
	}
	return qs, sc.Err()
}
