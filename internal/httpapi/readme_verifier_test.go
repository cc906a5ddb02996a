// This file is the Go example of README.md's "Verifying tokens in your
// own service", word for word after the package clause, so that it
// compiles and TestREADMEVerifiers runs it; that test fails when the two
// differ.

package httpapi_test

import (
	"context"
	"errors"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// newVerifier returns a check for rolegate access tokens. The key set is
// fetched every 5 minutes (rolegate's JWKS cache time), and at once for a
// kid it does not hold.
func newVerifier(ctx context.Context, jwksURL, issuer, audience string) (func(string) (jwt.MapClaims, error), error) {
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{RefreshInterval: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(issuer),
		jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithLeeway(30*time.Second))
	return func(token string) (jwt.MapClaims, error) {
		claims := jwt.MapClaims{}
		t, err := parser.ParseWithClaims(token, claims, keys.Keyfunc) // a refresh token is no JWT: refused here
		if err != nil {
			return nil, err
		}
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" && typ != "application/at+jwt" {
			return nil, errors.New("not an access token")
		}
		return claims, nil
	}, nil
}
