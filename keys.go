package latch

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchauth/latch/token"
)

const metaSecretFingerprint = "secret_fingerprint"

// checkSecret records the secret's fingerprint on first start and refuses a
// different secret afterwards: its sealed keys and refresh tokens would be
// unusable, and silently minting new ones would split a cluster.
func checkSecret(ctx context.Context, st Store, secret *Secret) error {
	fp := secret.Fingerprint()
	stored, err := st.SetMetaIfAbsent(ctx, metaSecretFingerprint, fp)
	if err != nil {
		return fmt.Errorf("check secret: %w", err)
	}
	if stored != fp {
		return errors.New("the secret file does not match this database (it was initialised with another secret); use the original secret file")
	}
	return nil
}

// KeyPropagation bounds how long after a rotation any node may still sign
// with the superseded key: every server re-reads the keys at least this
// often (serve's --key-reload-interval is capped at it).
const KeyPropagation = 5 * time.Minute

// retiresAt is when a key superseded at successor stops verifying: the last
// token it can have signed, minted up to KeyPropagation after the rotation,
// has then expired even with the maximum leeway.
func (s *Service) retiresAt(successor time.Time) time.Time {
	return successor.Add(KeyPropagation + s.Policy.AccessTTL + token.MaxLeeway)
}

// loadKeySet reads the signing keys, creating the first on a new database.
// The newest key signs. An older key still verifies until every token it
// can have signed has expired (retiresAt); past that it is dropped, and
// marked retired in the store unless this service only reads keys (admin
// commands, whose access-token TTL may not be the server's).
func (s *Service) loadKeySet(ctx context.Context, now time.Time) (*token.KeySet, error) {
	stored, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	live := stored[:0]
	for _, k := range stored {
		if k.RetiredAt.IsZero() {
			live = append(live, k)
		}
	}
	if len(live) == 0 {
		k, err := s.createKey(ctx, now)
		if err != nil {
			return nil, err
		}
		return token.NewKeySet(k), nil
	}
	var keys, pending []*token.Key
	for i, sk := range live {
		if pendingKey(sk, now, i == len(live)-1) {
			// Published ahead of use (RotateKey): verifies now, signs
			// from its CreatedAt.
			k, err := s.openKey(sk)
			if err != nil {
				return nil, err
			}
			pending = append(pending, k)
			continue
		}
		if i > 0 && !now.Before(s.retiresAt(live[i-1].CreatedAt)) {
			if !s.keysReadOnly {
				if err := s.store.SetSigningKeyRetired(ctx, sk.ID, now); err != nil {
					return nil, fmt.Errorf("retire signing key: %w", err)
				}
				s.logger().Info("signing key retired: every token it signed has expired", "kid", sk.ID)
			}
			continue
		}
		k, err := s.openKey(sk)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return token.NewPendingKeySet(keys[0], pending, keys[1:]...), nil
}

// pendingKey reports whether a live key is published ahead of its use:
// dated after now. The oldest live key signs even if it is dated ahead of
// this clock (another node's clock is ahead), or nothing would.
func pendingKey(k *StoredKey, now time.Time, oldestLive bool) bool {
	return k.CreatedAt.After(now) && !oldestLive
}

func (s *Service) openKey(sk *StoredKey) (*token.Key, error) {
	if sk.Algorithm != token.Algorithm {
		return nil, fmt.Errorf("signing key %s: unsupported algorithm %q", sk.ID, sk.Algorithm)
	}
	seed, err := s.secret.open(sk.ID, sk.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key %s: bad seed length", sk.ID)
	}
	k, err := token.NewKey(ed25519.NewKeyFromSeed(seed), sk.CreatedAt)
	if err != nil {
		return nil, err
	}
	if k.ID != sk.ID {
		return nil, fmt.Errorf("signing key %s: id does not match the key", sk.ID)
	}
	return k, nil
}

// createKey generates, seals and stores a new Ed25519 key.
func (s *Service) createKey(ctx context.Context, now time.Time) (*token.Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := s.rand().Read(seed); err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	k, err := token.NewKey(ed25519.NewKeyFromSeed(seed), now)
	if err != nil {
		return nil, err
	}
	sealed, err := s.secret.seal(s.rand(), k.ID, seed)
	if err != nil {
		return nil, fmt.Errorf("seal signing key: %w", err)
	}
	err = s.store.AddSigningKey(ctx, &StoredKey{
		ID: k.ID, Algorithm: token.Algorithm, PublicKey: k.Public(), SealedKey: sealed, CreatedAt: now,
	})
	if err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	return k, nil
}

// DefaultKeyPrepublish is how long `latch keys rotate` publishes a new key
// before it signs: every node re-reads its keys within KeyPropagation, and
// a verifier's copy of the JWKS is at most a minute old (it is served with
// max-age=60), so by then every node and every such verifier has it.
const DefaultKeyPrepublish = KeyPropagation + time.Minute

// MaxKeyPrepublish bounds RotateKey's pre-publication: enough to schedule
// a rotation, not enough for a typo to leave a key pending for years.
const MaxKeyPrepublish = 24 * time.Hour

// keyClockMargin is how far ahead of this clock a key may be dated and
// still be signing on a node whose clock is ahead (clocks are kept in
// sync far more closely).
const keyClockMargin = 10 * time.Second

// RotateKey adds a new signing key. It is published (JWKS) and verifies at
// once, and signs from prepublish later on every node (its CreatedAt is
// that instant); zero makes it sign at once, for a rotation that cannot
// wait. Tokens signed by the previous key stay valid until they expire.
//
// Keys sign in the order of their CreatedAt, so a key still pending from
// an earlier rotation keeps its own date: with prepublish zero the new key
// signs now and the pending one takes over at its time.
func (s *Service) RotateKey(ctx context.Context, prepublish time.Duration) (*token.Key, error) {
	if prepublish < 0 || prepublish > MaxKeyPrepublish {
		return nil, fmt.Errorf("rotate key: pre-publication must be between 0 and %v", MaxKeyPrepublish)
	}
	now := s.now()
	at := now.Add(prepublish)
	// The new key must be strictly newer than the key signing now, even if
	// this clock is behind the node that made that one (or both fall in
	// one millisecond), or it would never sign.
	stored, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	for _, k := range stored {
		if k.RetiredAt.IsZero() && !k.CreatedAt.After(now.Add(keyClockMargin)) && !at.After(k.CreatedAt) {
			at = k.CreatedAt.Add(time.Millisecond)
		}
	}
	// No two keys share a date: which would sign would be a guess.
	for taken := true; taken; {
		taken = slices.ContainsFunc(stored, func(k *StoredKey) bool { return k.CreatedAt.Equal(at) })
		if taken {
			at = at.Add(time.Millisecond)
		}
	}
	k, err := s.createKey(ctx, at)
	if err != nil {
		return nil, err
	}
	if err := s.ReloadKeys(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// ReloadKeys re-reads the key set from the store (after a rotation by
// another process or node).
func (s *Service) ReloadKeys(ctx context.Context) error {
	ks, err := s.loadKeySet(ctx, s.now())
	if err != nil {
		return err
	}
	s.keys.Store(ks)
	return nil
}

// KeyStatus describes one signing key for operators.
type KeyStatus struct {
	ID        string
	Algorithm string
	CreatedAt time.Time // when it signs from (a rotation dates it ahead)
	// State is "pending" (published, signs from CreatedAt), "signing",
	// "verifying" (superseded; its tokens may still be live until
	// RetiresAt) or "retired".
	State     string
	RetiresAt time.Time // for "verifying"
	RetiredAt time.Time // for "retired"
}

// Keys lists every signing key the store holds, newest first.
func (s *Service) Keys(ctx context.Context) ([]KeyStatus, error) {
	stored, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, s.unavailable(err)
	}
	now := s.now()
	oldestLive := -1
	for i, k := range stored {
		if k.RetiredAt.IsZero() {
			oldestLive = i
		}
	}
	var out []KeyStatus
	var successor time.Time // CreatedAt of the next newer live key
	signer := false
	for i, k := range stored {
		ks := KeyStatus{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
		switch {
		case !k.RetiredAt.IsZero():
			ks.State = "retired"
		case pendingKey(k, now, i == oldestLive):
			ks.State = "pending"
		case !signer:
			ks.State, signer = "signing", true
		case !now.Before(s.retiresAt(successor)):
			ks.State, ks.RetiredAt = "retired", s.retiresAt(successor) // not yet marked by a server
		default:
			ks.State, ks.RetiresAt = "verifying", s.retiresAt(successor)
		}
		if k.RetiredAt.IsZero() {
			successor = k.CreatedAt
		}
		out = append(out, ks)
	}
	return out, nil
}

// KeySet returns the current keys, for the JWKS endpoint.
func (s *Service) KeySet() *token.KeySet { return s.keys.Load() }

// keyLookup adapts the atomically swapped key set to token.KeyLookup.
type keyLookup struct{ s *Service }

func (l keyLookup) PublicKey(kid string) (ed25519.PublicKey, bool) {
	return l.s.keys.Load().PublicKey(kid)
}
