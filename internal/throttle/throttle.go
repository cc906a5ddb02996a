// Package throttle limits brute force: failed password checks (logins and
// password changes) per account and per client address, successful logins
// per account, and signups and username changes per client address and
// per account. The counters live in the database, so every replica sees
// the same ones.
package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"time"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// Store keeps the counters.
type Store interface {
	// CountThrottle adds one event to key and returns the counter after it,
	// or EUNAVAILABLE.
	CountThrottle(ctx context.Context, key models.ThrottleKey, limit models.ThrottleLimit, now time.Time) (models.ThrottleState, error)
	// ThrottleBlockedUntil returns the latest block of keys after now, the
	// zero time for none, or EUNAVAILABLE.
	ThrottleBlockedUntil(ctx context.Context, keys []models.ThrottleKey, now time.Time) (time.Time, error)
	// ResetThrottle forgets key, or returns EUNAVAILABLE.
	ResetThrottle(ctx context.Context, key models.ThrottleKey) error
}

// Limits are the limits of each kind of counter.
type Limits struct {
	LoginAccount models.ThrottleLimit
	LoginIP      models.ThrottleLimit
	// LoginSession limits successful logins (new sessions) per username,
	// so that a flood of right passwords costs a hash each only until it
	// is blocked.
	LoginSession models.ThrottleLimit
	SignupIP     models.ThrottleLimit
	// RenameUser limits the username changes one user makes: each tells,
	// like a signup, whether a username is taken.
	RenameUser models.ThrottleLimit
}

// Limiter decides whether a login or a signup may go ahead, and counts
// the ones that matter.
type Limiter struct {
	store  Store
	limits Limits
	now    func() time.Time
}

// New returns a Limiter over store.
func New(store Store, limits Limits) *Limiter {
	return &Limiter{store: store, limits: limits, now: time.Now}
}

// CheckLogin returns ETHROTTLED, with the time to wait, when username or
// ip is blocked: by failed password checks or, for username, by too many
// successful logins. It reads no account, so its answer is the same
// whether username exists or not. A database failure is EUNAVAILABLE: the
// login must not go ahead unchecked.
func (l *Limiter) CheckLogin(ctx context.Context, username, ip string) error {
	return l.check(ctx, usernameKey(models.ThrottleLoginAccount, username), usernameKey(models.ThrottleLoginSession, username),
		ipKey(models.ThrottleLoginIP, ip))
}

// CheckPasswordChange is CheckLogin for users changing their own password:
// the same failure counters, which LoginFailed counts a wrong old
// password against, but not the successful logins.
func (l *Limiter) CheckPasswordChange(ctx context.Context, username, ip string) error {
	return l.check(ctx, usernameKey(models.ThrottleLoginAccount, username), ipKey(models.ThrottleLoginIP, ip))
}

// LoginFailed counts a failed password check, a login's or a password
// change's, against username and ip.
func (l *Limiter) LoginFailed(ctx context.Context, username, ip string) error {
	now := l.now()
	if _, err := l.store.CountThrottle(ctx, usernameKey(models.ThrottleLoginAccount, username), l.limits.LoginAccount, now); err != nil {
		return err
	}
	_, err := l.store.CountThrottle(ctx, ipKey(models.ThrottleLoginIP, ip), l.limits.LoginIP, now)
	return err
}

// LoginSucceeded forgets the failed logins of username and counts the new
// session against its limit of successful logins. The failures of the
// client address stay: one good password must not reset a guesser's
// budget for every other account.
func (l *Limiter) LoginSucceeded(ctx context.Context, username string) error {
	if err := l.store.ResetThrottle(ctx, usernameKey(models.ThrottleLoginAccount, username)); err != nil {
		return err
	}
	_, err := l.store.CountThrottle(ctx, usernameKey(models.ThrottleLoginSession, username), l.limits.LoginSession, l.now())
	return err
}

// CheckSignup returns ETHROTTLED when ip may not sign up now, or
// EUNAVAILABLE.
func (l *Limiter) CheckSignup(ctx context.Context, ip string) error {
	return l.check(ctx, ipKey(models.ThrottleSignupIP, ip))
}

// SignupAttempted counts a signup from ip.
func (l *Limiter) SignupAttempted(ctx context.Context, ip string) error {
	_, err := l.store.CountThrottle(ctx, ipKey(models.ThrottleSignupIP, ip), l.limits.SignupIP, l.now())
	return err
}

// CheckRename returns ETHROTTLED when user userID or the address ip may
// not change a username now, or EUNAVAILABLE. A username change answers,
// like a signup, whether a name is taken, so it shares the address's
// signup counter.
func (l *Limiter) CheckRename(ctx context.Context, userID int64, ip string) error {
	return l.check(ctx, renameKey(userID), ipKey(models.ThrottleSignupIP, ip))
}

// RenameAttempted counts a username change by user userID from ip.
func (l *Limiter) RenameAttempted(ctx context.Context, userID int64, ip string) error {
	now := l.now()
	if _, err := l.store.CountThrottle(ctx, renameKey(userID), l.limits.RenameUser, now); err != nil {
		return err
	}
	_, err := l.store.CountThrottle(ctx, ipKey(models.ThrottleSignupIP, ip), l.limits.SignupIP, now)
	return err
}

func (l *Limiter) check(ctx context.Context, keys ...models.ThrottleKey) error {
	now := l.now()
	until, err := l.store.ThrottleBlockedUntil(ctx, keys, now)
	if err != nil {
		if models.ErrorCode(err) != models.EUNAVAILABLE {
			err = models.Unavailable(err)
		}
		return err
	}
	if until.IsZero() {
		return nil
	}
	return models.Throttled(until.Sub(now))
}

// usernameKey is a counter of kind for a username: a hash of its
// skeleton, the key logins find accounts by, so that the same account is
// counted however it is spelled (lookalike letters included), and so that
// the table never holds what people typed (sometimes a password) in the
// username field.
func usernameKey(kind, username string) models.ThrottleKey {
	sum := sha256.Sum256([]byte(account.UsernameSkeleton(username)))
	return models.ThrottleKey{Kind: kind, Name: hex.EncodeToString(sum[:])}
}

// renameKey is the counter of the username changes a user makes, by id:
// it stays with the user through their own renames.
func renameKey(userID int64) models.ThrottleKey {
	return models.ThrottleKey{Kind: models.ThrottleRenameUser, Name: strconv.FormatInt(userID, 10)}
}

// ipKey is the counter of a client address. IPv6 clients are counted per
// /64, the smallest block a subscriber usually gets: otherwise one machine
// would have 2^64 fresh counters.
func ipKey(kind, ip string) models.ThrottleKey {
	return models.ThrottleKey{Kind: kind, Name: Bucket(ip)}
}

// Bucket returns the name under which ip is counted: an IPv4 address (also
// when written as IPv4-mapped IPv6), an IPv6 /64, or ip itself if it does
// not parse.
func Bucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
