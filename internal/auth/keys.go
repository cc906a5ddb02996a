package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Key is one Ed25519 signing key.
type Key struct {
	ID        string
	CreatedAt time.Time
	private   ed25519.PrivateKey
	public    ed25519.PublicKey
}

// KeySet is the signing keys from the key file, oldest first. The newest
// signs; all verify, so tokens signed before a rotation stay valid.
type KeySet struct {
	keys []Key
	byID map[string]Key
}

// keyFile is the on-disk form of a KeySet.
type keyFile struct {
	Keys []keyFileEntry `json:"keys"`
}

type keyFileEntry struct {
	ID        string    `json:"kid"`
	CreatedAt time.Time `json:"created_at"`
	Seed      string    `json:"seed"` // base64url Ed25519 seed (RFC 8032 private key)
}

// LoadOrCreateKeys reads the key file at path. When there is none, it
// creates one with a new key. Two processes starting at once agree on one
// file: the loser of the race reads the winner's.
func LoadOrCreateKeys(path string) (*KeySet, error) {
	ks, err := LoadKeys(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return ks, err
	}
	k, err := newKey(time.Now())
	if err != nil {
		return nil, err
	}
	if err := writeKeys(path, []Key{k}, false); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return LoadKeys(path)
}

// LoadKeys reads the key file at path.
func LoadKeys(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(f.Keys) == 0 {
		return nil, fmt.Errorf("key file %s holds no keys", path)
	}
	keys := make([]Key, 0, len(f.Keys))
	for i, e := range f.Keys {
		seed, err := base64.RawURLEncoding.DecodeString(e.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("key file %s: key %d: seed is not %d base64url bytes", path, i+1, ed25519.SeedSize)
		}
		k := keyFromSeed(seed, e.CreatedAt)
		if e.ID != k.ID {
			return nil, fmt.Errorf("key file %s: key %d: kid %q does not match its key (want %q)", path, i+1, e.ID, k.ID)
		}
		keys = append(keys, k)
	}
	return newKeySet(keys), nil
}

// RotateKeys adds a new signing key to the file at path, and drops keys
// that were replaced more than keep ago: no token they signed is still
// valid. keep must be at least the longest token lifetime.
func RotateKeys(path string, keep time.Duration, now time.Time) (added Key, dropped []Key, err error) {
	ks, err := LoadKeys(path)
	if err != nil {
		return Key{}, nil, err
	}
	added, err = newKey(now)
	if err != nil {
		return Key{}, nil, err
	}
	var kept []Key
	for i, k := range ks.keys {
		// A key stops signing when its successor is created.
		if i+1 < len(ks.keys) && now.Sub(ks.keys[i+1].CreatedAt) > keep {
			dropped = append(dropped, k)
			continue
		}
		kept = append(kept, k)
	}
	return added, dropped, writeKeys(path, append(kept, added), true)
}

func newKey(now time.Time) (Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return Key{}, err
	}
	return keyFromSeed(seed, now.UTC().Truncate(time.Second)), nil
}

func keyFromSeed(seed []byte, created time.Time) Key {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	return Key{ID: thumbprint(pub), CreatedAt: created, private: priv, public: pub}
}

// thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key.
func thumbprint(pub ed25519.PublicKey) string {
	// Members in lexicographic order, no whitespace, as RFC 7638 requires.
	canon := fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":"%s"}`, base64.RawURLEncoding.EncodeToString(pub))
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// writeKeys writes keys to path through a temporary file, so a reader never
// sees half a file. With replace false it fails with fs.ErrExist when path
// already exists.
func writeKeys(path string, keys []Key, replace bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create key folder: %w", err)
	}
	f := keyFile{}
	for _, k := range keys {
		f.Keys = append(f.Keys, keyFileEntry{ID: k.ID, CreatedAt: k.CreatedAt, Seed: base64.RawURLEncoding.EncodeToString(k.private.Seed())})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if replace {
		return os.Rename(tmp.Name(), path)
	}
	// Link fails if path exists, which makes creation race-free.
	return os.Link(tmp.Name(), path)
}

func newKeySet(keys []Key) *KeySet {
	ks := &KeySet{keys: keys, byID: make(map[string]Key, len(keys))}
	for _, k := range keys {
		ks.byID[k.ID] = k
	}
	return ks
}

// Signer returns the key new tokens are signed with.
func (ks *KeySet) Signer() Key { return ks.keys[len(ks.keys)-1] }

// Keys returns every key, oldest first.
func (ks *KeySet) Keys() []Key { return append([]Key(nil), ks.keys...) }

// jwk is a public key in JWK form (RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the public keys as a JWK Set document.
func (ks *KeySet) JWKS() any {
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range ks.keys {
		out.Keys = append(out.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.public), Kid: k.ID, Use: "sig", Alg: "EdDSA"})
	}
	return out
}
