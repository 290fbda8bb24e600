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
