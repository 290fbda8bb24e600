package token_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/token"
)

var (
	now    = time.Unix(1796300000, 0)
	seed   = []byte("0123456789abcdef0123456789abcdef")
	key, _ = token.NewKey(ed25519.NewKeyFromSeed(seed), now)
	keys   = token.NewKeySet(key)
	v      = &token.Verifier{Issuer: "https://auth.example", Audience: "https://auth.example", Leeway: 30 * time.Second, Keys: keys}
)

func claims() *token.Claims {
	return &token.Claims{
		Issuer: "https://auth.example", Audience: "https://auth.example",
		Subject: "6f1c8b0e-2a3d-4e5f-8a9b-0c1d2e3f4a5b", SessionID: "7a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
		ID: "8b3c4d5e-6f7a-4b9c-8d1e-2f3a4b5c6d7e", Generation: 3, IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute),
	}
}

func sign(t testing.TB, c *token.Claims) string {
	t.Helper()
	s, err := token.Sign(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	c := claims()
	got, err := v.Verify(sign(t, c), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if *got != *c {
		t.Fatalf("Verify = %+v, want %+v", got, c)
	}
}

// RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
func TestThumbprintRFC8037(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if got, want := token.Thumbprint(ed25519.PublicKey(x)), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("Thumbprint = %s, want %s", got, want)
	}
}

func TestJWKSRoundTrip(t *testing.T) {
	data, err := json.Marshal(keys.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"d"`) {
		t.Fatal("JWKS contains private key material")
	}
	parsed, err := token.ParseJWKS(data)
	if err != nil {
		t.Fatal(err)
	}
	pv := *v
	pv.Keys = parsed
	if _, err := pv.Verify(sign(t, claims()), now); err != nil {
		t.Fatalf("verify with parsed JWKS: %v", err)
	}
	for _, bad := range []string{
		`{"keys":[]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"alias"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"short","kid":"x"}]}`,
		`not json`,
	} {
		if _, err := token.ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("ParseJWKS(%s) accepted", bad)
		}
	}
}

func TestVerifyTimes(t *testing.T) {
	tok := sign(t, claims())
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"at issue", now, nil},
		{"just before expiry", now.Add(15*time.Minute - time.Second), nil},
		{"within leeway after expiry", now.Add(15*time.Minute + 29*time.Second), nil},
		{"expired", now.Add(15*time.Minute + 31*time.Second), token.ErrExpired},
		{"issued in the future beyond leeway", now.Add(-31 * time.Second), token.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tok, tt.at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify at %v = %v, want %v", tt.at, err, tt.want)
			}
		})
	}
}

// An expired token with a bad signature is a signature failure, not "expired".
func TestExpiredBadSignatureClassification(t *testing.T) {
	tok := sign(t, claims())
	bad := tok[:len(tok)-3] + "AAA"
	if _, err := v.Verify(bad, now.Add(time.Hour)); !errors.Is(err, token.ErrSignature) {
		t.Fatalf("Verify(expired, bad sig) = %v, want ErrSignature", err)
	}
}

// A key set with pending keys signs with each from its CreatedAt on, and
// publishes and verifies all of them from the start.
func TestSignerAt(t *testing.T) {
	mk := func(b byte, at time.Time) *token.Key {
		k, err := token.NewKey(ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+b)), ed25519.SeedSize))), at)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	old, cur := mk(0, now.Add(-time.Hour)), mk(1, now)
	p1, p2 := mk(2, now.Add(time.Minute)), mk(3, now.Add(2*time.Minute))
	// Pending keys given out of order.
	ks := token.NewPendingKeySet(cur, []*token.Key{p2, p1}, old)
	for _, tt := range []struct {
		at   time.Time
		want *token.Key
	}{
		{now, cur},
		{now.Add(time.Minute - time.Nanosecond), cur},
		{now.Add(time.Minute), p1},
		{now.Add(2*time.Minute - time.Nanosecond), p1},
		{now.Add(2 * time.Minute), p2},
		{now.Add(time.Hour), p2},
	} {
		if got := ks.SignerAt(tt.at); got != tt.want {
			t.Errorf("SignerAt(now+%v) = %s, want %s", tt.at.Sub(now), got.ID, tt.want.ID)
		}
	}
	if ks.Signer() != cur {
		t.Error("Signer is not the key the set was made with")
	}
	var ids []string
	for _, k := range ks.JWKS().Keys {
		ids = append(ids, k.KeyID)
	}
	if want := []string{cur.ID, p1.ID, p2.ID, old.ID}; strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("JWKS = %v, want %v", ids, want)
	}
	for _, k := range []*token.Key{old, cur, p1, p2} {
		if _, ok := ks.PublicKey(k.ID); !ok {
			t.Errorf("key %s does not verify", k.ID)
		}
	}
}
