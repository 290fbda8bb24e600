package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Key is one Ed25519 key pair, identified by its RFC 7638 thumbprint.
type Key struct {
	ID        string
	CreatedAt time.Time
	private   ed25519.PrivateKey
	public    ed25519.PublicKey
}

// NewKey wraps a private key. The key id is derived from the public key.
func NewKey(private ed25519.PrivateKey, created time.Time) (*Key, error) {
	if len(private) != ed25519.PrivateKeySize {
		return nil, errors.New("token: bad Ed25519 private key length")
	}
	pub := private.Public().(ed25519.PublicKey)
	return &Key{ID: Thumbprint(pub), CreatedAt: created, private: private, public: pub}, nil
}

// Public returns the verification key.
func (k *Key) Public() ed25519.PublicKey { return k.public }

// Private returns the signing key, for persisting it sealed.
func (k *Key) Private() ed25519.PrivateKey { return k.private }

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of an
// Ed25519 public key: a stable key id every JOSE library can recompute.
func Thumbprint(pub ed25519.PublicKey) string {
	// Members in lexicographic order, no whitespace (RFC 7638 §3.2; RFC 8037 §2).
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// KeySet is an immutable set of verification keys plus the key that signs
// new tokens. Replace it as a whole to rotate.
type KeySet struct {
	signer  *Key
	pending []*Key // published ahead of use, by CreatedAt ascending
	public  map[string]ed25519.PublicKey
	order   []string
}

// NewKeySet returns a set that signs with signer and verifies with signer and
// every key in others (previous keys whose tokens have not expired yet).
func NewKeySet(signer *Key, others ...*Key) *KeySet {
	return NewPendingKeySet(signer, nil, others...)
}

// NewPendingKeySet is NewKeySet with keys published ahead of their use:
// each pending key verifies at once and signs from its CreatedAt on (see
// SignerAt), so verifiers that cache the key set hold it before the first
// token it signs, and every node switches at the same instant without
// re-reading its keys.
func NewPendingKeySet(signer *Key, pending []*Key, others ...*Key) *KeySet {
	ks := &KeySet{signer: signer, public: make(map[string]ed25519.PublicKey)}
	for _, k := range pending {
		if k != nil {
			ks.pending = append(ks.pending, k)
		}
	}
	slices.SortFunc(ks.pending, func(a, b *Key) int { return a.CreatedAt.Compare(b.CreatedAt) })
	all := append([]*Key{signer}, ks.pending...)
	for _, k := range append(all, others...) {
		if k == nil {
			continue
		}
		if _, dup := ks.public[k.ID]; dup {
			continue
		}
		ks.public[k.ID] = k.public
		ks.order = append(ks.order, k.ID)
	}
	return ks
}

// PublicKey returns the verification key for kid.
func (ks *KeySet) PublicKey(kid string) (ed25519.PublicKey, bool) {
	k, ok := ks.public[kid]
	return k, ok
}

// Signer returns the signing key the set was made with (nil for a
// verify-only set), ignoring pending keys; SignerAt is what signs.
func (ks *KeySet) Signer() *Key { return ks.signer }

// SignerAt returns the key that signs at t: the newest pending key whose
// CreatedAt has come, else the signer.
func (ks *KeySet) SignerAt(t time.Time) *Key {
	k := ks.signer
	for _, p := range ks.pending {
		if p.CreatedAt.After(t) {
			break
		}
		k = p
	}
	return k
}

// JWK is the public JSON Web Key form of an Ed25519 key (RFC 8037).
type JWK struct {
	KeyType string `json:"kty"`
	Curve   string `json:"crv"`
	X       string `json:"x"`
	KeyID   string `json:"kid"`
	Alg     string `json:"alg"`
	Use     string `json:"use"`
}

// JWKS is a JSON Web Key Set (RFC 7517 §5).
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the public keys: the signer, then pending keys, then older
// keys that still verify.
func (ks *KeySet) JWKS() JWKS {
	set := JWKS{Keys: make([]JWK, 0, len(ks.order))}
	for _, kid := range ks.order {
		set.Keys = append(set.Keys, JWK{
			KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(ks.public[kid]),
			KeyID: kid, Alg: Algorithm, Use: "sig",
		})
	}
	return set
}

// ParseJWKS builds a verify-only key set from a JWKS document. Keys that are
// not Ed25519 signing keys for EdDSA are skipped; a key whose kid is not its
// thumbprint is rejected, so a JWKS cannot alias one key under another id.
func ParseJWKS(data []byte) (*KeySet, error) {
	var set JWKS
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("token: parse JWKS: %w", err)
	}
	ks := &KeySet{public: make(map[string]ed25519.PublicKey)}
	for _, k := range set.Keys {
		if k.KeyType != "OKP" || k.Curve != "Ed25519" || (k.Alg != "" && k.Alg != Algorithm) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("token: JWKS key %q: bad x", k.KeyID)
		}
		if Thumbprint(pub) != k.KeyID {
			return nil, fmt.Errorf("token: JWKS key %q: kid is not the key's thumbprint", k.KeyID)
		}
		if _, dup := ks.public[k.KeyID]; !dup {
			ks.public[k.KeyID] = ed25519.PublicKey(pub)
			ks.order = append(ks.order, k.KeyID)
		}
	}
	if len(ks.public) == 0 {
		return nil, errors.New("token: JWKS has no Ed25519 signing keys")
	}
	return ks, nil
}
