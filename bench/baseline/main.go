// Command baseline is the ceiling rolegate's GET /me/ is measured against:
// a bare Gin handler that verifies an EdDSA access token with golang-jwt
// and asks Casbin once, with rolegate's model and policy and no database.
//
//	baseline -addr 127.0.0.1:8090 -keys data/jwt-keys.json -model policy/model.conf -policy policy/policy.csv
package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	keys := flag.String("keys", "data/jwt-keys.json", "rolegate's key file, whose keys verify the tokens")
	modelFile := flag.String("model", "policy/model.conf", "Casbin model")
	policyFile := flag.String("policy", "policy/policy.csv", "Casbin policy")
	flag.Parse()
	if err := run(*addr, *keys, *modelFile, *policyFile); err != nil {
		log.Fatal(err)
	}
}

func run(addr, keyFile, modelFile, policyFile string) error {
	pub, err := loadPublicKeys(keyFile)
	if err != nil {
		return err
	}
	e, err := casbin.NewEnforcer(modelFile, policyFile)
	if err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/me/", me(pub, e))
	r.GET("/healthz", func(c *gin.Context) { c.Status(http.StatusOK) })
	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}

type claims struct {
	jwt.RegisteredClaims
	TokenType string `json:"token_type"`
	UserID    int64  `json:"user_id"`
}

// me answers like rolegate's GET /me/ would without a database: verify the
// token, decide (user, users, read, own), answer with the token's user id.
func me(pub map[string]ed25519.PublicKey, e *casbin.Enforcer) gin.HandlerFunc {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer("rolegate"), jwt.WithAudience("rolegate"), jwt.WithLeeway(30*time.Second))
	keyFor := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := pub[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}
	return func(c *gin.Context) {
		token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		var cl claims
		if !ok {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"code": "not_authenticated"})
			return
		}
		if _, err := parser.ParseWithClaims(token, &cl, keyFor); err != nil || cl.TokenType != "access" {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"code": "token_not_valid"})
			return
		}
		id := strconv.FormatInt(cl.UserID, 10)
		allowed, err := e.Enforce("user", id, "users", id, "read")
		if err != nil || !allowed {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"code": "permission_denied"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": cl.UserID})
	}
}

// loadPublicKeys reads rolegate's key file ({"keys": [{"kid", "seed"}]})
// and returns each key's public half by kid.
func loadPublicKeys(path string) (map[string]ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Keys []struct {
			ID   string `json:"kid"`
			Seed string `json:"seed"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range f.Keys {
		seed, err := base64.RawURLEncoding.DecodeString(k.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s: key %q: bad seed", path, k.ID)
		}
		out[k.ID] = ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	}
	return out, nil
}
