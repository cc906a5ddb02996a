package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/rolegate/rolegate/models"
)

// UserStore is what the auth service needs from user storage.
type UserStore interface {
	// UserByID returns ENOTFOUND if there is no such user.
	UserByID(ctx context.Context, id int64) (*models.User, error)
	// CurrentUser is UserByID for authentication, possibly from a cache
	// that every write to the user invalidates before it returns, here
	// and on every other replica.
	CurrentUser(ctx context.Context, id int64) (*models.User, error)
	// UserByUsername matches case-insensitively. Returns ENOTFOUND if no
	// user has that username.
	UserByUsername(ctx context.Context, username string) (*models.User, error)
	// RecordLogin sets the last login of verified, the user as read when
	// the password was checked, and, when newHash is not "", replaces the
	// password hash without ending sessions; only while the stored hash
	// and token epoch are still verified's. Returns ECONFLICT when they
	// are not, or ENOTFOUND if the user is gone.
	RecordLogin(ctx context.Context, verified *models.User, at time.Time, newHash string) error
	// UpdateUser applies patch to the user once check, unless nil, has
	// approved it against the user's row as locked by the write. A patch
	// that ends sessions (a new password, a deactivation) revokes every
	// session of the user and advances the user's token epoch in the same
	// transaction. Returns ENOTFOUND, EINVALID for a taken username,
	// ECONFLICT when the patch would remove the last active holder of a
	// role in guard, or check's error as it is.
	UpdateUser(ctx context.Context, id int64, patch models.UserPatch, guard models.AdminGuard, check models.UserCheck) (models.UserChange, error)
}

// SessionStore keeps login sessions and their refresh tokens.
type SessionStore interface {
	// CreateSession stores a new session with its first refresh token.
	CreateSession(ctx context.Context, s models.Session, first models.RefreshToken) error
	// RotateRefreshToken spends the unspent token whose hash is oldHash and
	// stores next in its session, in one transaction, and returns the
	// session's user. A token that was spent before revokes its whole
	// session and returns a *models.RefreshReusedError naming the
	// session's user, which wraps models.ErrRefreshReused and an
	// EUNAUTHORIZED error. An unknown or expired token, a revoked session,
	// or an inactive user is EUNAUTHORIZED.
	RotateRefreshToken(ctx context.Context, oldHash string, next models.RefreshToken, now time.Time) (*models.User, error)
	// EndSession ends the session of the token whose hash is tokenHash,
	// spent or not. Ending a session that already ended is not an error;
	// an unknown or expired token is EUNAUTHORIZED.
	EndSession(ctx context.Context, tokenHash string, now time.Time) error
}

// Service logs users in and out, rotates refresh tokens, and authenticates
// access tokens against the user's current state.
type Service struct {
	users    UserStore
	sessions SessionStore
	hasher   *Hasher
	tokens   *Tokens
	policy   PasswordPolicy
	now      func() time.Time
}

// NewService returns a Service.
func NewService(users UserStore, sessions SessionStore, hasher *Hasher, tokens *Tokens, policy PasswordPolicy) *Service {
	return &Service{users: users, sessions: sessions, hasher: hasher, tokens: tokens, policy: policy, now: time.Now}
}

// Pair is what a login or a refresh returns, in simplejwt's shape.
type Pair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// ErrBadCredentials is the one answer to every failed login, whatever the
// reason, so that it tells nothing about which accounts exist.
var ErrBadCredentials = &models.Error{Code: models.EUNAUTHORIZED, Reason: "no_active_account", Message: "No active account found with the given credentials"}

// maxLoginChecks bounds how many times one login checks its password: a
// login whose account changed between the check and the record (another
// login's rehash, a password reset, a deactivation) checks again against
// the account as it is then.
const maxLoginChecks = 3

// Login checks a username and password and starts a session. An unknown
// user, a wrong password and an inactive account all cost one password
// hash, are held to the failure floor whatever the stored hash (see
// Verification.Refuse), and return ErrBadCredentials. A login is recorded,
// and an outdated hash replaced, only on the account as it was checked;
// when it changed meanwhile, the password is checked again on the account
// as it is now, and after maxLoginChecks such changes the answer is
// ECONFLICT. client is the caller's address, for sharing the hashing slots
// fairly.
func (s *Service) Login(ctx context.Context, username, password, client string) (*models.User, Pair, error) {
	who := Requester{Account: username, Client: client}
	for check := 1; ; check++ {
		u, rehash, err := s.checkPassword(ctx, who, password)
		if err != nil {
			return nil, Pair{}, err
		}
		err = s.recordLogin(ctx, who, u, password, rehash)
		switch models.ErrorCode(err) {
		case "":
			pair, err := s.StartSession(ctx, u)
			return u, pair, err
		case models.ECONFLICT:
			if check < maxLoginChecks {
				continue
			}
		case models.ENOTFOUND: // deleted since the check
			err = ErrBadCredentials
		}
		return nil, Pair{}, err
	}
}

// checkPassword returns the active user named who.Account if password is
// theirs, and whether their hash should be replaced; else
// ErrBadCredentials, after one password check held to the failure floor,
// whatever the reason.
func (s *Service) checkPassword(ctx context.Context, who Requester, password string) (*models.User, bool, error) {
	u, err := s.users.UserByUsername(ctx, who.Account)
	if models.ErrorCode(err) == models.ENOTFOUND {
		v, err := s.hasher.CheckDecoy(ctx, who, password)
		if err != nil {
			return nil, false, err
		}
		v.Refuse()
		return nil, false, ErrBadCredentials
	}
	if err != nil {
		return nil, false, err
	}
	v, err := s.hasher.Check(ctx, who, password, u.PasswordHash)
	if err != nil {
		return nil, false, err
	}
	if !v.OK || !u.IsActive {
		v.Refuse()
		return nil, false, ErrBadCredentials
	}
	return u, v.Rehash, nil
}

// recordLogin stores the login of u, checked with password, rehashing the
// password when asked; see UserStore.RecordLogin.
func (s *Service) recordLogin(ctx context.Context, who Requester, u *models.User, password string, rehash bool) error {
	var newHash string
	if rehash {
		var err error
		if newHash, err = s.hasher.Hash(ctx, who, password); err != nil {
			return err
		}
	}
	now := s.now().UTC()
	if err := s.users.RecordLogin(ctx, u, now, newHash); err != nil {
		return err
	}
	u.LastLogin = &now
	if newHash != "" {
		u.PasswordHash = newHash
	}
	return nil
}

// StartSession starts a new session for u and returns its first tokens.
func (s *Service) StartSession(ctx context.Context, u *models.User) (Pair, error) {
	sess := models.Session{ID: rand.Text(), UserID: u.ID, CreatedAt: s.now().UTC()}
	refresh, stored := s.tokens.NewRefresh()
	stored.SessionID = sess.ID
	if err := s.sessions.CreateSession(ctx, sess, stored); err != nil {
		return Pair{}, tokenRefused(err)
	}
	access, err := s.tokens.IssueAccess(u)
	if err != nil {
		return Pair{}, models.Internal(err)
	}
	return Pair{Access: access.Token, Refresh: refresh}, nil
}

// Refresh spends a refresh token and returns a new pair in the same
// session. Each refresh token works once; presenting a spent one ends the
// session, including the token that replaced it, and returns a
// *models.RefreshReusedError (EUNAUTHORIZED to clients). The session
// belongs to the account that logged in (sessions go with a deleted
// account), so the new access token is that account's.
func (s *Service) Refresh(ctx context.Context, refresh string) (Pair, error) {
	old, ok := RefreshHash(refresh)
	if !ok {
		return Pair{}, ErrTokenInvalid
	}
	// The next token exists before the store decides, so that spending
	// the old one and storing the new one happen in one transaction.
	token, next := s.tokens.NewRefresh()
	u, err := s.sessions.RotateRefreshToken(ctx, old, next, s.now().UTC())
	if err != nil {
		return Pair{}, tokenRefused(err)
	}
	access, err := s.tokens.IssueAccess(u)
	if err != nil {
		return Pair{}, models.Internal(err)
	}
	return Pair{Access: access.Token, Refresh: token}, nil
}

// Logout ends the session of a refresh token. It is idempotent: logging
// out of a session that already ended succeeds.
func (s *Service) Logout(ctx context.Context, refresh string) error {
	hash, ok := RefreshHash(refresh)
	if !ok {
		return ErrTokenInvalid
	}
	return tokenRefused(s.sessions.EndSession(ctx, hash, s.now().UTC()))
}

// tokenRefused is how a refresh token or session that the store refused
// (EUNAUTHORIZED, for any reason) looks to a client: ErrTokenInvalid,
// which wraps the store's reason for the logs. A reuse stays a
// *models.RefreshReusedError, for the audit trail.
func tokenRefused(err error) error {
	if models.ErrorCode(err) != models.EUNAUTHORIZED {
		return err
	}
	out := &models.Error{Code: ErrTokenInvalid.Code, Reason: ErrTokenInvalid.Reason, Message: ErrTokenInvalid.Message, Err: err}
	var reuse *models.RefreshReusedError
	if errors.As(err, &reuse) {
		return &models.RefreshReusedError{UserID: reuse.UserID, Err: out}
	}
	return out
}

// Authenticate verifies an access token and returns its user as stored
// now: a deleted or deactivated user, a token issued before the user's
// sessions were ended, or one issued to another account under the same id
// (deleted, then imported again), is refused.
func (s *Service) Authenticate(ctx context.Context, access string) (*models.User, error) {
	c, err := s.tokens.Verify(access)
	if err != nil {
		return nil, err
	}
	u, err := s.users.CurrentUser(ctx, c.UserID)
	switch {
	case models.ErrorCode(err) == models.ENOTFOUND:
		return nil, &models.Error{Code: models.EUNAUTHORIZED, Reason: "user_not_found", Message: "User not found"}
	case err != nil:
		return nil, err
	case !u.IsActive:
		return nil, &models.Error{Code: models.EUNAUTHORIZED, Reason: "user_inactive", Message: "User is inactive"}
	case u.TokenEpoch != c.Epoch || u.AccountKey != c.AccountKey:
		return nil, ErrTokenInvalid
	}
	return u, nil
}

// ErrWrongOldPassword refuses a password change whose old password is
// not the caller's.
var ErrWrongOldPassword = models.FieldError("old_password", "Your old password was entered incorrectly.")

// errPasswordChangedMeanwhile refuses a password change whose old password
// was checked against a hash that another request replaced before the
// new one was written.
var errPasswordChangedMeanwhile = models.Errorf(models.ECONFLICT,
	"Your password was changed by another request; log in again with the new password.")

// ChangePassword replaces u's password after checking the new one against
// the password policy and the old one against u's hash. The new hash is
// written only over the hash the old password was checked against: u may
// be a cached copy, and a concurrent change or reset is ECONFLICT, never
// overwritten. Every session of u ends, and a new one is started for the
// caller. Returns ErrWrongOldPassword for a wrong old password. client is
// the caller's address, for sharing the hashing slots fairly.
func (s *Service) ChangePassword(ctx context.Context, u *models.User, oldPassword, newPassword, client string) (Pair, error) {
	if err := s.checkNewPassword(newPassword, u); err != nil {
		return Pair{}, err
	}
	who := Requester{Account: u.Username, Client: client}
	ok, _, err := s.hasher.Verify(ctx, who, oldPassword, u.PasswordHash)
	if err != nil {
		return Pair{}, err
	}
	if !ok {
		return Pair{}, ErrWrongOldPassword
	}
	checked := u.PasswordHash
	change, err := s.storePassword(ctx, who, u.ID, newPassword, models.AdminGuard{}, func(locked *models.User, _ models.UserPatch) error {
		if locked.PasswordHash != checked {
			return errPasswordChangedMeanwhile
		}
		return nil
	})
	if err != nil {
		return Pair{}, err
	}
	return s.StartSession(ctx, change.After)
}

// SetPassword checks newPassword against the password policy for u, hashes
// it and stores it as u's, ending every session of u. client is the
// address of whoever sets it, for sharing the hashing slots fairly.
func (s *Service) SetPassword(ctx context.Context, u *models.User, newPassword string, guard models.AdminGuard, client string) (*models.User, error) {
	if err := s.checkNewPassword(newPassword, u); err != nil {
		return nil, err
	}
	change, err := s.storePassword(ctx, Requester{Account: u.Username, Client: client}, u.ID, newPassword, guard, nil)
	return change.After, err
}

// checkNewPassword is EINVALID, naming new_password, when newPassword is
// not acceptable for u.
func (s *Service) checkNewPassword(newPassword string, u *models.User) error {
	return s.policy.Validate("new_password", newPassword, u)
}

// storePassword hashes newPassword and stores it once check approves the
// user's row as locked.
func (s *Service) storePassword(ctx context.Context, who Requester, id int64, newPassword string, guard models.AdminGuard, check models.UserCheck) (models.UserChange, error) {
	hash, err := s.hasher.Hash(ctx, who, newPassword)
	if err != nil {
		return models.UserChange{}, err
	}
	return s.users.UpdateUser(ctx, id, models.UserPatch{PasswordHash: &hash}, guard, check)
}

// ValidatePassword checks password for u with the service's password
// policy: see PasswordPolicy.Validate.
func (s *Service) ValidatePassword(field, password string, u *models.User) error {
	return s.policy.Validate(field, password, u)
}

// HashPassword hashes an already checked password for who.
func (s *Service) HashPassword(ctx context.Context, who Requester, password string) (string, error) {
	return s.hasher.Hash(ctx, who, password)
}

// JWKS returns the public signing keys as a JWK Set.
func (s *Service) JWKS() any { return s.tokens.Keys().JWKS() }

// ReloadKeys re-reads the signing key file.
func (s *Service) ReloadKeys(path string) error {
	ks, err := LoadKeys(path)
	if err != nil {
		return err
	}
	s.tokens.SetKeys(ks)
	return nil
}
