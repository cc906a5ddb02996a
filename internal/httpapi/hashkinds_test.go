package httpapi_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/models"
)

// pbkdf2Iterations picks an iteration count for an imported Django PBKDF2
// hash that costs about ratio times one of e's own argon2id hashes on this
// machine, now (the race detector slows PBKDF2 twentyfold, argon2id three
// times, so a fixed count would not do). Django's 870,000 is the most.
func (e *env) pbkdf2Iterations(t *testing.T, ratio float64) int {
	t.Helper()
	const probe = 20000
	var argon, pbkdf []time.Duration
	for range 3 {
		start := time.Now()
		if _, err := e.srv.Auth.HashPassword(t.Context(), auth.Requester{}, "probe password"); err != nil {
			t.Fatal(err)
		}
		argon = append(argon, time.Since(start))
		start = time.Now()
		djangoPBKDF2(t, "probe password", probe)
		pbkdf = append(pbkdf, time.Since(start))
	}
	n := int(float64(probe) * ratio * float64(median(argon)) / float64(median(pbkdf)))
	return min(max(n, 1000), 870000)
}

// djangoPBKDF2 is password as Django's PBKDF2PasswordHasher stores it.
func djangoPBKDF2(t *testing.T, password string, iterations int) string {
	t.Helper()
	salt := rand.Text()[:22]
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iterations, salt, base64.StdEncoding.EncodeToString(key))
}

// outdatedArgon2 is password hashed with argon2id at memoryKiB and one
// pass: what a server with lower settings stored before its settings were
// raised.
func outdatedArgon2(password string, memoryKiB uint32) string {
	salt := []byte(rand.Text()[:16])
	key := argon2.IDKey([]byte(password), salt, 1, memoryKiB, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=1,p=1$%s$%s", memoryKiB, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// insertWithHash stores a user whose password hash is hash, as an import
// or an older server left it.
func (e *env) insertWithHash(t *testing.T, password, hash string, active bool) *user {
	t.Helper()
	u := &user{Username: unique("hashkind"), Password: password, Role: roleUser}
	created, err := e.srv.Store.CreateUser(context.Background(), &models.User{Username: u.Username, Role: roleUser, IsActive: active, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	u.ID = created.ID
	return u
}
