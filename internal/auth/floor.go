package auth

import (
	"math"
	"sync"
	"time"
)

// A refused login must take as long whatever the account's stored hash
// is: rolegate's own argon2id, argon2id at older parameters, or a hash
// imported from Django (PBKDF2 at Django's iteration count costs several
// times more). Otherwise its time tells an attacker which accounts exist
// and which still carry an imported or outdated hash. So every refused
// login is held, after its hashing slot is released, until it has taken
// the failure floor: about the most a check of the most expensive kind of
// hash seen takes.
//
// Costs are kept relative to the hasher's own parameters (the reference),
// which the decoy of unknown users and every current hash use, so they
// are measured all the time and follow the machine's load: a check of any
// kind is recorded as its time over the reference's average cost at that
// moment. For each kind (the reference too) the floor keeps the running
// average of that ratio and of its deviation, and holds refusals to the
// reference's cost times the largest average plus floorDeviations
// deviations, as TCP sets its retransmission timeout from the round
// trip's mean and deviation: nearly every check of the most expensive
// kind ends below the floor, even on a busy machine.
const (
	// floorDeviations is how many average deviations above a kind's
	// average ratio the floor is.
	floorDeviations = 2
	// minFloorMargin keeps the floor above the most expensive kind's
	// average ratio however steady its checks are.
	minFloorMargin = 1.2
	// floorSmoothing is the weight of a new measurement in the running
	// averages.
	floorSmoothing = 0.125
	// maxHashKinds bounds the kinds of hash tracked; more share one slot,
	// which keeps the highest ratio seen.
	maxHashKinds = 64
	// MaxFailureFloor caps the floor. A kind of hash that costs more than
	// this to check is a hazard in itself (an imported row with absurd
	// parameters), and no login may wait longer.
	MaxFailureFloor = 10 * time.Second
)

// otherKinds is the shared slot of kinds past maxHashKinds.
const otherKinds = "(other)"

// kindCost is the running average of one kind's cost ratio and of its
// deviation.
type kindCost struct {
	ratio, deviation float64
}

func (k *kindCost) add(r float64) {
	d := r - k.ratio
	k.ratio += floorSmoothing * d
	k.deviation += floorSmoothing * (math.Abs(d) - k.deviation)
}

// high is the ratio that nearly every check of the kind stays under.
func (k kindCost) high() float64 {
	return max(k.ratio+floorDeviations*k.deviation, k.ratio*minFloorMargin)
}

// failureFloor tracks what checking each kind of stored hash costs, and
// the time a refused login is held to.
type failureFloor struct {
	mu sync.Mutex
	// reference is the kind of the hasher's own hashes.
	reference string
	// referenceCost is the running average cost of the reference kind.
	referenceCost time.Duration
	// kinds are the ratios of each kind, the reference's included.
	kinds map[string]*kindCost
}

func newFailureFloor(reference string, cost time.Duration) *failureFloor {
	return &failureFloor{
		reference: reference, referenceCost: max(cost, time.Microsecond),
		kinds: map[string]*kindCost{reference: {ratio: 1}},
	}
}

// observe records that checking a hash of kind took took, in its slot.
func (f *failureFloor) observe(kind string, took time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := float64(took) / float64(f.referenceCost)
	k, known := f.kinds[kind]
	switch {
	case known:
		k.add(r)
	case len(f.kinds) <= maxHashKinds:
		// Until there are more checks of it to go by, a kind's checks
		// are taken to vary by a quarter.
		f.kinds[kind] = &kindCost{ratio: r, deviation: r / 4}
	default:
		other := f.kinds[otherKinds]
		if other == nil {
			other = &kindCost{}
			f.kinds[otherKinds] = other
		}
		other.ratio = max(other.ratio, r)
	}
	if kind == f.reference {
		f.referenceCost += time.Duration(floorSmoothing * float64(took-f.referenceCost))
		f.referenceCost = max(f.referenceCost, time.Microsecond)
	}
}

// floor is how long a refused login takes at least.
func (f *failureFloor) floor() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	top := 0.0
	for _, k := range f.kinds {
		top = max(top, k.high())
	}
	return min(time.Duration(float64(f.referenceCost)*top), MaxFailureFloor)
}

// Verification is the outcome of one password check.
type Verification struct {
	// OK reports whether the password matched.
	OK bool
	// Rehash reports whether a matched hash should be replaced (see
	// Hasher.Verify).
	Rehash bool
	// cost is the check's time in its slot; floor is the failure floor
	// as it stood when the check began, so that logins checked together
	// are held to the same floor, whatever their checks teach it.
	cost  time.Duration
	floor time.Duration
}

// Refuse holds a refused login until the check has taken the failure
// floor. Call it on every path that refuses a login after a check (a
// wrong password, an inactive account, an unknown user's decoy), outside
// any hashing slot. It does not stop when the request's context ends:
// a guesser who hangs up early must not learn anything from when the
// answer would have come, nor skip the count of a failure.
func (v Verification) Refuse() {
	if pad := v.floor - v.cost; pad > 0 {
		t := time.NewTimer(pad)
		defer t.Stop()
		<-t.C
	}
}
