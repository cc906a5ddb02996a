package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rolegate/rolegate/models"
)

// AccessToken is the token_type claim of access tokens, as simplejwt
// names it. Refresh tokens are not JWTs (see refresh.go).
const AccessToken = "access"

// AccessTokenType is the "typ" header of access tokens, from RFC 9068:
// a verifier that checks it cannot mistake any other JWT signed with
// rolegate's keys for an access token.
const AccessTokenType = "at+jwt"

// Leeway is the clock skew tolerated when checking exp, nbf and iat.
const Leeway = 30 * time.Second

// TokenConfig configures issuing and verifying tokens.
type TokenConfig struct {
	Issuer     string
	Audience   string
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// KeyFile is re-read when a token names a key we do not know, so that a
	// key added by a rotation on a shared file is picked up.
	KeyFile string
}

// Claims are the claims of rolegate's access tokens: simplejwt's
// (token_type, exp, iat, jti, user_id) plus iss, aud, sub, and the user's
// token epoch and account key.
type Claims struct {
	jwt.RegisteredClaims
	TokenType string `json:"token_type"`
	UserID    int64  `json:"user_id"`
	Epoch     int64  `json:"epoch"`
	// AccountKey binds the token to the account it was issued for, not
	// just to its id, which an import may give to a new row.
	AccountKey string `json:"account_key"`
}

// Tokens issues and verifies signed access tokens, and issues refresh
// tokens.
type Tokens struct {
	cfg    TokenConfig
	keys   atomic.Pointer[KeySet]
	parser *jwt.Parser
	now    func() time.Time
	// verified caches verified access tokens; SetKeys replaces it, so that
	// no token stays valid by cache after its key is gone.
	verified atomic.Pointer[verifiedCache]

	reloadMu   sync.Mutex
	lastReload time.Time
}

// NewTokens returns a Tokens that signs with ks.
func NewTokens(cfg TokenConfig, ks *KeySet) *Tokens {
	t := &Tokens{cfg: cfg, now: time.Now}
	t.keys.Store(ks)
	t.verified.Store(newVerifiedCache())
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		// Lenient base64 ignores the unused low bits of a segment's last
		// character, so 16 spellings of every signature would verify.
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t
}

// Keys returns the key set in use.
func (t *Tokens) Keys() *KeySet { return t.keys.Load() }

// SetKeys replaces the key set, after a rotation.
func (t *Tokens) SetKeys(ks *KeySet) {
	t.keys.Store(ks)
	t.verified.Store(newVerifiedCache())
}

// Issued is a signed token and what it says.
type Issued struct {
	Token  string
	Claims Claims
}

// IssueAccess signs an access token for u.
func (t *Tokens) IssueAccess(u *models.User) (Issued, error) {
	now := t.now().UTC()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   strconv.FormatInt(u.ID, 10),
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.cfg.AccessTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        rand.Text(),
		},
		TokenType:  AccessToken,
		UserID:     u.ID,
		Epoch:      u.TokenEpoch,
		AccountKey: u.AccountKey,
	}
	key := t.keys.Load().SignerAt(t.now())
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["typ"] = AccessTokenType
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(key.private)
	if err != nil {
		return Issued{}, fmt.Errorf("sign access token: %w", err)
	}
	return Issued{Token: s, Claims: c}, nil
}

// ErrTokenInvalid is returned for any token that fails verification. The
// reason is deliberately not told to the client.
var ErrTokenInvalid = &models.Error{Code: models.EUNAUTHORIZED, Reason: "token_not_valid", Message: "Token is invalid or expired"}

// Header parameters that would let a token choose its own verification key.
var forbiddenHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit"}

// Verify checks an access token's signature, algorithm, type (the typ
// header and the token_type claim), lifetime, issuer and audience, and
// returns its claims. Any failure is ErrTokenInvalid. A token verified
// before is found by its hash and only checked for expiry again (see
// verifiedCache).
func (t *Tokens) Verify(token string) (*Claims, error) {
	key := sha256.Sum256([]byte(token))
	cache := t.verified.Load()
	if c, ok := cache.get(key, t.now()); ok {
		return &c, nil
	}
	c, err := t.verify(token)
	if err != nil {
		return nil, err
	}
	cache.put(key, *c)
	return c, nil
}

func (t *Tokens) verify(token string) (*Claims, error) {
	if !compactJWS(token) {
		return nil, ErrTokenInvalid
	}
	var c Claims
	_, err := t.parser.ParseWithClaims(token, &c, t.keyFor)
	if err != nil {
		return nil, tokenError(err)
	}
	if c.TokenType != AccessToken || c.UserID <= 0 || c.Subject != strconv.FormatInt(c.UserID, 10) || c.ID == "" || c.AccountKey == "" {
		return nil, ErrTokenInvalid
	}
	return &c, nil
}

// isAccessTokenType reports whether a typ header names an access token:
// RFC 9068 allows the media type's full name, and media types are
// case-insensitive.
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, AccessTokenType) || strings.EqualFold(typ, "application/"+AccessTokenType)
}

// compactJWS reports whether token holds only what a token rolegate
// issues can: base64url and dots. Base64 decoding skips CR and LF, so a
// signature with a line break in it would otherwise still verify.
func compactJWS(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func tokenError(err error) error {
	return &models.Error{Code: ErrTokenInvalid.Code, Reason: ErrTokenInvalid.Reason, Message: ErrTokenInvalid.Message, Err: err}
}

func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	for _, h := range forbiddenHeaders {
		if _, ok := tok.Header[h]; ok {
			return nil, fmt.Errorf("header %q is not accepted", h)
		}
	}
	if typ, _ := tok.Header["typ"].(string); !isAccessTokenType(typ) {
		return nil, fmt.Errorf("typ %q is not %s", typ, AccessTokenType)
	}
	kid, ok := tok.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errors.New("no kid")
	}
	if k, ok := t.keys.Load().byID[kid]; ok {
		return k.public, nil
	}
	if k, ok := t.reloadFor(kid); ok {
		return k.public, nil
	}
	return nil, fmt.Errorf("unknown kid %q", kid)
}

// reloadFor re-reads the key file, at most once a second, in case kid was
// added by a rotation on another replica.
func (t *Tokens) reloadFor(kid string) (Key, bool) {
	if t.cfg.KeyFile == "" {
		return Key{}, false
	}
	t.reloadMu.Lock()
	defer t.reloadMu.Unlock()
	if k, ok := t.keys.Load().byID[kid]; ok {
		return k, true
	}
	if t.now().Sub(t.lastReload) < time.Second {
		return Key{}, false
	}
	t.lastReload = t.now()
	ks, err := LoadKeys(t.cfg.KeyFile)
	if err != nil {
		return Key{}, false
	}
	t.keys.Store(ks)
	k, ok := ks.byID[kid]
	return k, ok
}
