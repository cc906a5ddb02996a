package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signingKey is the server's current signing key, read from the key file
// it created, so that tests can sign tokens that differ from real ones in
// exactly one way.
type signingKey struct {
	kid  string
	priv ed25519.PrivateKey
}

func (e *env) signingKey(t *testing.T) signingKey {
	t.Helper()
	data, err := os.ReadFile(e.cfg.JWTKeyFile)
	if err != nil {
		t.Fatalf("read key file: %v", err)
	}
	var f struct {
		Keys []struct {
			Kid  string `json:"kid"`
			Seed string `json:"seed"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &f); err != nil || len(f.Keys) == 0 {
		t.Fatalf("key file: got %s (%v), want {\"keys\": [...]}", data, err)
	}
	k := f.Keys[len(f.Keys)-1]
	seed, err := base64.RawURLEncoding.DecodeString(k.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("key file seed: got %q (%v), want %d base64url bytes", k.Seed, err, ed25519.SeedSize)
	}
	return signingKey{kid: k.Kid, priv: ed25519.NewKeyFromSeed(seed)}
}

// claims are the claims of a valid access token for u, but for its
// token_type claim, which is typ.
func (e *env) claims(t *testing.T, u *user, typ string) jwt.MapClaims {
	t.Helper()
	now := time.Now()
	stored := e.stored(t, u.ID)
	c := jwt.MapClaims{
		"iss": e.cfg.JWTIssuer, "aud": []string{e.cfg.JWTAudience}, "sub": strconv.FormatInt(u.ID, 10),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": rand.Text(),
		"token_type": typ, "user_id": u.ID, "epoch": stored.TokenEpoch, "account_key": stored.AccountKey,
	}
	return c
}

// sign signs c with the server's key, kid and the access token typ, then
// applies header: a nil value removes a header parameter.
func (e *env) sign(t *testing.T, c jwt.MapClaims, header map[string]any) string {
	t.Helper()
	key := e.signingKey(t)
	return signWith(t, jwt.SigningMethodEdDSA, key.priv, c, merge(map[string]any{"kid": key.kid, "typ": "at+jwt"}, header))
}

func signWith(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// jwksKey returns the server's published public key, base64url.
func (e *env) jwksKey(t *testing.T) (kid, x string) {
	t.Helper()
	r := e.do(t, http.MethodGet, "/.well-known/jwks.json", "", nil)
	wantStatus(t, r, http.StatusOK)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	r.decode(t, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("%s: got %s, want one key", r.What, r.Body)
	}
	k := set.Keys[0]
	if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" {
		t.Errorf("%s: got key %v, want an Ed25519 signing key for EdDSA", r.What, k)
	}
	return k["kid"], k["x"]
}

// TestJWKS checks that the published key is the one the server signs
// with, that access tokens name it, use EdDSA and are typed at+jwt (RFC
// 9068), and that refresh tokens are not JWTs.
func TestJWKS(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		kid, x := e.jwksKey(t)
		key := e.signingKey(t)
		if want := base64.RawURLEncoding.EncodeToString(key.priv.Public().(ed25519.PublicKey)); x != want || kid != key.kid {
			t.Errorf("JWKS key: got kid %q x %q, want kid %q x %q", kid, x, key.kid, want)
		}
		u := e.newUser(t, roleUser)
		var c jwt.MapClaims
		parsed, _, err := jwt.NewParser().ParseUnverified(u.Access, &c)
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		if parsed.Header["alg"] != "EdDSA" || parsed.Header["kid"] != kid || parsed.Header["typ"] != "at+jwt" {
			t.Errorf("access token header: got %v, want alg EdDSA, typ at+jwt and kid %q", parsed.Header, kid)
		}
		if c["token_type"] != "access" || c["iss"] != e.cfg.JWTIssuer || c["exp"] == nil || c["user_id"] != float64(u.ID) {
			t.Errorf("access token claims: got %v, want token_type access, iss, exp and user_id %d", c, u.ID)
		}
		if _, _, err := jwt.NewParser().ParseUnverified(u.Refresh, &jwt.MapClaims{}); err == nil || !strings.HasPrefix(u.Refresh, "rgr_") {
			t.Errorf("refresh token %q: got a JWT (%v), want an opaque rgr_ string", u.Refresh, err)
		}
	})
}

// TestForgedTokens checks that a token differing from a valid one in any
// single way is refused with 401, after checking that the valid one, which
// the test signs with the server's own key, is accepted.
func TestForgedTokens(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		other := e.newUser(t, roleAdmin)
		r := e.do(t, http.MethodGet, "/v1/me", e.sign(t, e.claims(t, u, "access"), nil), nil)
		wantStatus(t, r, http.StatusOK)
		wantUser(t, r.What, r.object(t), e.stored(t, u.ID))

		_, x := e.jwksKey(t)
		pub, err := base64.RawURLEncoding.DecodeString(x)
		if err != nil {
			t.Fatalf("JWKS x: %v", err)
		}
		with := func(change func(jwt.MapClaims)) jwt.MapClaims {
			c := e.claims(t, u, "access")
			change(c)
			return c
		}
		valid := e.claims(t, u, "access")
		key := e.signingKey(t)
		_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
		now := time.Now()
		cases := map[string]string{
			"alg none":                  signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid, map[string]any{"kid": key.kid}),
			"HS256 with the public key": signWith(t, jwt.SigningMethodHS256, pub, valid, map[string]any{"kid": key.kid}),
			"HS256 with the JWK x":      signWith(t, jwt.SigningMethodHS256, []byte(x), valid, map[string]any{"kid": key.kid}),
			"signature flipped":         flipSignature(u.Access),
			"payload tampered":          tamperPayload(t, u.Access, other.ID),
			"expired": e.sign(t, with(func(c jwt.MapClaims) {
				c["iat"] = now.Add(-2 * time.Hour).Unix()
				c["exp"] = now.Add(-time.Hour).Unix()
			}), nil),
			"no exp":                        e.sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") }), nil),
			"issued in the future":          e.sign(t, with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix(); c["exp"] = now.Add(2 * time.Hour).Unix() }), nil),
			"wrong iss":                     e.sign(t, with(func(c jwt.MapClaims) { c["iss"] = "someone-else" }), nil),
			"no iss":                        e.sign(t, with(func(c jwt.MapClaims) { delete(c, "iss") }), nil),
			"wrong aud":                     e.sign(t, with(func(c jwt.MapClaims) { c["aud"] = []string{"another-service"} }), nil),
			"no aud":                        e.sign(t, with(func(c jwt.MapClaims) { delete(c, "aud") }), nil),
			"token_type refresh":            e.sign(t, e.claims(t, u, "refresh"), nil),
			"typ JWT":                       e.sign(t, valid, map[string]any{"typ": "JWT"}),
			"no typ":                        e.sign(t, valid, map[string]any{"typ": nil}),
			"typ refresh+jwt":               e.sign(t, valid, map[string]any{"typ": "refresh+jwt"}),
			"no token_type":                 e.sign(t, with(func(c jwt.MapClaims) { delete(c, "token_type") }), nil),
			"token_type id":                 e.sign(t, with(func(c jwt.MapClaims) { c["token_type"] = "id" }), nil),
			"sub not user_id":               e.sign(t, with(func(c jwt.MapClaims) { c["sub"] = strconv.FormatInt(other.ID, 10) }), nil),
			"old epoch":                     e.sign(t, with(func(c jwt.MapClaims) { c["epoch"] = c["epoch"].(int64) - 1 }), nil),
			"another account's key":         e.sign(t, with(func(c jwt.MapClaims) { c["account_key"] = e.stored(t, other.ID).AccountKey }), nil),
			"no account key":                e.sign(t, with(func(c jwt.MapClaims) { delete(c, "account_key") }), nil),
			"unknown kid":                   e.sign(t, valid, map[string]any{"kid": "not-a-key-we-know"}),
			"no kid":                        e.sign(t, valid, map[string]any{"kid": nil}),
			"another key under our kid":     signWith(t, jwt.SigningMethodEdDSA, strangerKey, valid, map[string]any{"kid": key.kid}),
			"jku header":                    e.sign(t, valid, map[string]any{"jku": "https://attacker.example/jwks.json"}),
			"x5u header":                    e.sign(t, valid, map[string]any{"x5u": "https://attacker.example/cert.pem"}),
			"jwk header":                    e.sign(t, valid, map[string]any{"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x}}),
			"real refresh token as Bearer":  u.Refresh,
			"not a JWT":                     "not-a-token",
			"three empty parts":             "..",
			"another key under its own kid": signWith(t, jwt.SigningMethodEdDSA, strangerKey, valid, map[string]any{"kid": "stranger"}),
		}
		for name, token := range cases {
			t.Run(name, func(t *testing.T) {
				for _, path := range []string{"/v1/me", "/user-area/"} {
					wantTokenRefused(t, e.do(t, http.MethodGet, path, token, nil))
				}
			})
		}
		t.Run("user that does not exist", func(t *testing.T) {
			c := with(func(c jwt.MapClaims) { c["user_id"] = int64(1 << 40); c["sub"] = strconv.FormatInt(1<<40, 10) })
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", e.sign(t, c, nil), nil), http.StatusUnauthorized)
		})
	})
}

// flipSignature changes one character in the middle of a token's
// signature. (The last character may carry only padding bits.)
func flipSignature(token string) string {
	i := strings.LastIndexByte(token, '.') + (len(token)-strings.LastIndexByte(token, '.'))/2
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}

// tamperPayload rewrites a token's payload to claim to be user id, keeping
// the original signature.
func tamperPayload(t *testing.T, token string, id int64) string {
	t.Helper()
	parts := strings.Split(token, ".")
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	c["user_id"], c["sub"] = id, strconv.FormatInt(id, 10)
	data, _ = json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(data)
	return strings.Join(parts, ".")
}

// refresh presents a refresh token at path.
func (e *env) refresh(t *testing.T, path, token string) *response {
	t.Helper()
	return e.do(t, http.MethodPost, path, "", obj{"refresh": token})
}

// wantPair checks a 200 with exactly a new access and refresh token, and
// returns them.
func wantPair(t *testing.T, r *response) (access, refresh string) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var m map[string]string
	r.decode(t, &m)
	if len(m) != 2 || m["access"] == "" || m["refresh"] == "" {
		t.Fatalf("%s: got %s, want {\"access\", \"refresh\"}", r.What, r.Body)
	}
	return m["access"], m["refresh"]
}

// oldRefreshToken is a refresh token as rolegate issued them before they
// became opaque: a JWT signed with the server's key, typed JWT, naming a
// session.
func (e *env) oldRefreshToken(t *testing.T, u *user) string {
	t.Helper()
	c := e.claims(t, u, "refresh")
	c["sid"] = rand.Text()
	return e.sign(t, c, map[string]any{"typ": "JWT"})
}

// TestTokenTypes checks that each kind of token works only where it
// belongs: an access token, a signed JWT refresh token of the kind issued
// before, or a well-formed refresh token that was never issued is refused
// at refresh and logout, and changes nothing.
func TestTokenTypes(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, rs := range routeSets {
			u := e.newUser(t, roleUser)
			for name, token := range map[string]string{
				"access token":           u.Access,
				"JWT refresh token":      e.oldRefreshToken(t, u),
				"refresh never issued":   "rgr_" + strings.Repeat("A", 43),
				"refresh cut short":      u.Refresh[:len(u.Refresh)-1],
				"refresh with a newline": u.Refresh + "\n",
			} {
				t.Run(name, func(t *testing.T) {
					wantTokenRefused(t, e.refresh(t, rs.refresh, token))
					wantTokenRefused(t, e.do(t, http.MethodPost, rs.logout, "", obj{"refresh": token}))
				})
			}
			wantPair(t, e.refresh(t, rs.refresh, u.Refresh))
		}
	})
}

// TestRefreshRotation checks that each refresh token works once, and that
// presenting a spent one ends the session, including its newest token.
func TestRefreshRotation(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, rs := range routeSets {
			t.Run(rs.name, func(t *testing.T) {
				u := e.newUser(t, roleUser)
				first := u.Refresh
				access, second := wantPair(t, e.refresh(t, rs.refresh, first))
				if second == first {
					t.Fatalf("rotation: got the same refresh token back, want a new one")
				}
				wantStatus(t, e.do(t, http.MethodGet, "/v1/me", access, nil), http.StatusOK)
				_, third := wantPair(t, e.refresh(t, rs.refresh, second))

				wantTokenRefused(t, e.refresh(t, rs.refresh, first))
				wantTokenRefused(t, e.refresh(t, rs.refresh, third))
				wantTokenRefused(t, e.refresh(t, rs.refresh, second))

				e.login(t, u)
				wantPair(t, e.refresh(t, rs.refresh, u.Refresh))
			})
		}
	})
}

// TestConcurrentRefresh checks that of many refreshes with one token at
// once, exactly one succeeds.
func TestConcurrentRefresh(t *testing.T) {
	const n = 20
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		responses := make([]*response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				req, err := e.newRequest(http.MethodPost, "/token/refresh/", "", obj{"refresh": u.Refresh})
				if err == nil {
					responses[i], err = e.roundTrip(req)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		var won []string
		for i, r := range responses {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			checkResponse(t, r, nil)
			switch r.Status {
			case http.StatusOK:
				_, refresh := wantPair(t, r)
				won = append(won, refresh)
			case http.StatusUnauthorized:
			default:
				t.Errorf("%s: got status %d, want 200 or 401; body %s", r.What, r.Status, r.Body)
			}
		}
		if len(won) != 1 {
			t.Fatalf("concurrent refreshes: got %d successes, want exactly 1", len(won))
		}
		// The others were reuses, which ended the session.
		wantTokenRefused(t, e.refresh(t, "/token/refresh/", won[0]))
	})
}

// TestLogout checks that logout ends the session of its refresh token and
// no other.
func TestLogout(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, rs := range routeSets {
			t.Run(rs.name, func(t *testing.T) {
				u := e.newUser(t, roleUser)
				otherDevice := *u
				e.login(t, &otherDevice)
				r := e.do(t, http.MethodPost, rs.logout, "", obj{"refresh": u.Refresh})
				wantStatus(t, r, http.StatusOK)
				wantBody(t, r, obj{})
				wantTokenRefused(t, e.refresh(t, rs.refresh, u.Refresh))
				wantPair(t, e.refresh(t, rs.refresh, otherDevice.Refresh))
			})
		}
	})
}

// TestPasswordChange checks that changing one's password ends every
// session, returns a working pair, and refuses a wrong old password.
func TestPasswordChange(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		otherDevice := *u
		e.login(t, &otherDevice)
		before := e.stored(t, u.ID)

		bad := []struct {
			body  obj
			field string
		}{
			{obj{"old_password": newPassword(), "new_password": newPassword()}, "old_password"},
			{obj{"old_password": u.Password, "new_password": "Zq7!xw"}, "new_password"},
			{obj{"old_password": u.Password, "new_password": u.Username}, "new_password"},
			{obj{"old_password": u.Password}, "new_password"},
			{obj{"new_password": newPassword()}, "old_password"},
		}
		for _, c := range bad {
			wantFieldError(t, e.do(t, http.MethodPost, "/v1/me/password", u.Access, c.body), c.field)
			e.wantUnchanged(t, before)
		}

		password := newPassword()
		r := e.do(t, http.MethodPost, "/v1/me/password", u.Access, obj{"old_password": u.Password, "new_password": password})
		wantStatus(t, r, http.StatusOK)
		var body map[string]string
		r.decode(t, &body)
		if len(body) != 3 || body["message"] == "" || body["access"] == "" || body["refresh"] == "" {
			t.Fatalf("%s: got %s, want a message, an access and a refresh token", r.What, r.Body)
		}
		for _, old := range []*user{u, &otherDevice} {
			wantTokenRefused(t, e.do(t, http.MethodGet, "/v1/me", old.Access, nil))
			wantTokenRefused(t, e.refresh(t, "/token/refresh/", old.Refresh))
		}
		wantStatus(t, e.do(t, http.MethodGet, "/v1/me", body["access"], nil), http.StatusOK)
		wantPair(t, e.refresh(t, "/v1/auth/refresh", body["refresh"]))

		login := e.do(t, http.MethodPost, "/login/", "", obj{"username": u.Username, "password": u.Password})
		wantStatus(t, login, http.StatusUnauthorized)
		wantBody(t, login, badCredentials)
		u.Password = password
		e.login(t, u)
	})
}

// TestLoginFailures checks that an unknown user, a wrong password and an
// inactive account get the same 401 and the same body.
func TestLoginFailures(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		known := e.storedUser(t, roleUser)
		inactive, err := e.insertUser(t.Context(), roleUser, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range routeSets {
			attempts := map[string]obj{
				"unknown user":   {"username": unique("nobody"), "password": newPassword()},
				"wrong password": {"username": known.Username, "password": newPassword()},
				"inactive user":  {"username": inactive.Username, "password": inactive.Password},
			}
			bodies := map[string]string{}
			for name, in := range attempts {
				r := e.do(t, http.MethodPost, rs.login, "", in)
				wantStatus(t, r, http.StatusUnauthorized)
				wantBody(t, r, badCredentials)
				bodies[name] = string(r.Body)
			}
			if bodies["unknown user"] != bodies["wrong password"] || bodies["wrong password"] != bodies["inactive user"] {
				t.Errorf("%s bodies: got %q, want all identical", rs.login, bodies)
			}
			wantFieldError(t, e.do(t, http.MethodPost, rs.login, "", obj{"username": known.Username}), "password")
			wantFieldError(t, e.do(t, http.MethodPost, rs.login, "", obj{"password": known.Password}), "username")
		}
	})
}
