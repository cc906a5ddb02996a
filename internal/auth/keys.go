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
	"slices"
	"time"
)

// JWKSMaxAge is how long clients and caches may keep the JWKS document:
// its Cache-Control max-age. A key is published at least this long (and
// KeyFilePoll) before it signs, so that a verifier holding a cached copy
// never meets a token signed by a key it has not seen.
const JWKSMaxAge = 5 * time.Minute

// KeyFilePoll is how often a running server re-reads the key file, so
// that a key added or retired on a shared file reaches every replica.
const KeyFilePoll = time.Minute

// PublishDelay is how long after "keys rotate" the new key starts to sign:
// every replica publishes it within KeyFilePoll, and every cached JWKS
// that lacks it expires within JWKSMaxAge after that.
const PublishDelay = JWKSMaxAge + KeyFilePoll

// Key is one Ed25519 signing key.
type Key struct {
	ID        string
	CreatedAt time.Time
	// SignsFrom is when the key starts to sign: PublishDelay after its
	// creation by a rotation, at once for the first key.
	SignsFrom time.Time
	private   ed25519.PrivateKey
	public    ed25519.PublicKey
}

// KeySet is the signing keys from the key file, in the order they sign.
// At any time the key whose SignsFrom came last signs; all verify, so
// tokens signed before a rotation stay valid, and a key published ahead
// of its time is known to verifiers before its first token.
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
	// SignsFrom is absent from files written before keys were published
	// ahead of signing; such a key signs from its creation.
	SignsFrom *time.Time `json:"signs_from,omitempty"`
	Seed      string     `json:"seed"` // base64url Ed25519 seed (RFC 8032 private key)
}

// LoadOrCreateKeys reads the key file at path. When there is none, it
// creates one with a new key. Two processes starting at once agree on one
// file: the loser of the race reads the winner's.
func LoadOrCreateKeys(path string) (*KeySet, error) {
	ks, err := LoadKeys(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return ks, err
	}
	k, err := newKey(time.Now(), 0)
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
		signsFrom := e.CreatedAt
		if e.SignsFrom != nil {
			signsFrom = *e.SignsFrom
		}
		k := keyFromSeed(seed, e.CreatedAt, signsFrom)
		if e.ID != k.ID {
			return nil, fmt.Errorf("key file %s: key %d: kid %q does not match its key (want %q)", path, i+1, e.ID, k.ID)
		}
		keys = append(keys, k)
	}
	return newKeySet(keys), nil
}

// RotateKeys adds a key to the file at path that signs from PublishDelay
// after now, and drops the keys that are Retirable at now: no token they
// signed can still be valid. keep must be at least the longest token
// lifetime plus Leeway.
func RotateKeys(path string, keep time.Duration, now time.Time) (added Key, dropped []Key, err error) {
	ks, err := LoadKeys(path)
	if err != nil {
		return Key{}, nil, err
	}
	added, err = newKey(now, PublishDelay)
	if err != nil {
		return Key{}, nil, err
	}
	var kept []Key
	for _, k := range ks.keys {
		if ks.State(k.ID, keep, now).Name == Retirable {
			dropped = append(dropped, k)
			continue
		}
		kept = append(kept, k)
	}
	return added, dropped, writeKeys(path, append(kept, added), true)
}

// ErrKeyInUse refuses to retire, without force, a key that signs or that
// signed tokens that may still be valid.
var ErrKeyInUse = errors.New("key in use")

// RetireKey removes key id from the file at path, and returns it and the
// key that signs at now afterwards. Once running servers re-read the file,
// every token the key signed is refused. It refuses to remove the last
// key and, without force, a key that signs at now or whose tokens may
// still be valid (ErrKeyInUse, with the reason).
func RetireKey(path, id string, keep time.Duration, now time.Time, force bool) (retired, signer Key, err error) {
	ks, err := LoadKeys(path)
	if err != nil {
		return Key{}, Key{}, err
	}
	retired, ok := ks.byID[id]
	if !ok {
		return Key{}, Key{}, fmt.Errorf("key file %s holds no key %q", path, id)
	}
	if len(ks.keys) == 1 {
		return Key{}, Key{}, fmt.Errorf("key %s is the only key; rotate first, so that another can sign", id)
	}
	switch st := ks.State(id, keep, now); {
	case force:
	case st.Name == Signing:
		return Key{}, Key{}, fmt.Errorf("%w: key %s signs new tokens now. Retiring it refuses every access token it signed, and the key that signs next may not be in every verifier's cached JWKS yet. Rotate and wait until the new key signs, or use --force if the key leaked", ErrKeyInUse, id)
	case st.Name == Verifying:
		return Key{}, Key{}, fmt.Errorf("%w: access tokens signed by key %s may be valid until %s, and would be refused at once. Wait until then, or use --force if the key leaked", ErrKeyInUse, id, st.Until.Format(time.RFC3339))
	}
	kept := slices.DeleteFunc(ks.Keys(), func(k Key) bool { return k.ID == id })
	if err := writeKeys(path, kept, true); err != nil {
		return Key{}, Key{}, err
	}
	return retired, newKeySet(kept).SignerAt(now), nil
}

func newKey(now time.Time, delay time.Duration) (Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return Key{}, err
	}
	created := now.UTC().Truncate(time.Second)
	return keyFromSeed(seed, created, created.Add(delay)), nil
}

func keyFromSeed(seed []byte, created, signsFrom time.Time) Key {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	return Key{ID: thumbprint(pub), CreatedAt: created, SignsFrom: signsFrom.UTC(), private: priv, public: pub}
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
	for _, k := range newKeySet(keys).keys {
		signsFrom := k.SignsFrom
		f.Keys = append(f.Keys, keyFileEntry{ID: k.ID, CreatedAt: k.CreatedAt, SignsFrom: &signsFrom, Seed: base64.RawURLEncoding.EncodeToString(k.private.Seed())})
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

// newKeySet orders keys by when they sign, then by creation.
func newKeySet(keys []Key) *KeySet {
	keys = slices.Clone(keys)
	slices.SortStableFunc(keys, func(a, b Key) int {
		if c := a.SignsFrom.Compare(b.SignsFrom); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	ks := &KeySet{keys: keys, byID: make(map[string]Key, len(keys))}
	for _, k := range keys {
		ks.byID[k.ID] = k
	}
	return ks
}

// SignerAt returns the key that signs at now: the one whose SignsFrom
// came last. When every key is still to come (the signing key was retired
// by force), the first of them signs at once: a server must be able to
// sign.
func (ks *KeySet) SignerAt(now time.Time) Key { return ks.keys[ks.signerIndex(now)] }

func (ks *KeySet) signerIndex(now time.Time) int {
	i := 0
	for j, k := range ks.keys {
		if !k.SignsFrom.After(now) {
			i = j
		}
	}
	return i
}

// Keys returns every key, in the order they sign.
func (ks *KeySet) Keys() []Key { return slices.Clone(ks.keys) }

// Key states, as "rolegate keys list" shows them.
const (
	// Pending keys are published, and will sign from their SignsFrom.
	Pending = "pending"
	// Signing is the state of the key new tokens are signed with.
	Signing = "signing"
	// Verifying keys no longer sign, but tokens they signed may still be
	// valid, until KeyState.Until.
	Verifying = "verifying"
	// Retirable keys signed no token that can still be valid.
	Retirable = "retirable"
)

// KeyState is what a key does at some time.
type KeyState struct {
	Name string
	// Until is when the last tokens of a Verifying key expire.
	Until time.Time
}

// State returns what key id does at now, for tokens that live at most
// keep (the longest token lifetime plus Leeway). An unknown id is
// Retirable.
func (ks *KeySet) State(id string, keep time.Duration, now time.Time) KeyState {
	signer := ks.signerIndex(now)
	i := slices.IndexFunc(ks.keys, func(k Key) bool { return k.ID == id })
	switch {
	case i < 0:
		return KeyState{Name: Retirable}
	case i == signer:
		return KeyState{Name: Signing}
	case i > signer:
		return KeyState{Name: Pending}
	}
	// The next key took over from this one; tokens this one signed live
	// at most keep after that.
	if until := ks.keys[i+1].SignsFrom.Add(keep); now.Before(until) {
		return KeyState{Name: Verifying, Until: until}
	}
	return KeyState{Name: Retirable}
}

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
