package token_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/token"
)

// FuzzVerify feeds arbitrary strings to the verifier. Nothing panics, every
// refusal is one of the documented errors, and the only strings accepted
// are tokens latch signed (the seeds): a mutation of a signed token never
// verifies. Seeds are every attack of the attack suite.
func FuzzVerify(f *testing.F) {
	good := sign(f, claims())
	// Genuine tokens: latch's own, the generator's re-signing of the same
	// claims (several attacks wrap it in whitespace or NUL, which the
	// fuzzer soon strips), and the signed attack cases.
	signed := map[string]bool{good: true, attackGen().Valid(): true}
	f.Add(good)
	for _, tc := range attackCases(f) {
		f.Add(tc.Token)
		if tc.Signed {
			signed[tc.Token] = true
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := v.Verify(s, now)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			if !knownError(err) {
				t.Fatalf("Verify(%q) = %v, not a documented error", s, err)
			}
			return
		}
		if !signed[s] {
			t.Fatalf("accepted a token that latch did not sign: %q", s)
		}
	})
}

func knownError(err error) bool {
	for _, e := range []error{token.ErrMalformed, token.ErrTooLarge, token.ErrHeader, token.ErrUnknownKey,
		token.ErrSignature, token.ErrClaims, token.ErrExpired, token.ErrNotYetValid} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzVerifySigned signs arbitrary header and payload bytes with the real
// key, so the fuzzer reaches everything after the signature check, which
// only latch's own tokens ever reach. Whatever is accepted must mean one
// thing to every JSON reader: an independent decode with encoding/json
// finds exactly the accepted claims, with no member that encoding/json
// would fold into another, and only the three allowed header members.
func FuzzVerifySigned(f *testing.F) {
	g := attackGen()
	f.Add([]byte(g.Header().String()), []byte(g.Payload().String()))
	for _, tc := range attackCases(f) {
		if !tc.Signed {
			continue
		}
		parts := strings.Split(tc.Token, ".")
		h, _ := base64.RawURLEncoding.DecodeString(parts[0])
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		f.Add(h, p)
	}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		in := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
		tok := in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key.Private(), []byte(in)))
		c, err := v.Verify(tok, now)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("Verify = %v, not a documented error", err)
			}
			return
		}
		var h map[string]any
		if err := json.Unmarshal(header, &h); err != nil || len(h) != 3 || h["alg"] != "EdDSA" || h["kid"] != key.ID {
			t.Fatalf("accepted header %q (%v)", header, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("accepted payload encoding/json cannot read: %q", payload)
		}
		seen := map[string]string{}
		for name := range m {
			folded := strings.ToLower(name)
			if prev, dup := seen[folded]; dup {
				t.Fatalf("accepted payload with members %q and %q", prev, name)
			}
			seen[folded] = name
		}
		var ref struct {
			Iss, Aud, Sub, Sid, Jti string
			Gen                     uint64
			Iat, Exp                int64
		}
		dec := json.NewDecoder(bytes.NewReader(payload))
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("accepted payload that does not decode: %v", err)
		}
		want := token.Claims{Issuer: ref.Iss, Audience: ref.Aud, Subject: ref.Sub, SessionID: ref.Sid, ID: ref.Jti,
			Generation: ref.Gen, IssuedAt: time.Unix(ref.Iat, 0), ExpiresAt: time.Unix(ref.Exp, 0)}
		if *c != want {
			t.Fatalf("Verify read %+v, encoding/json reads %+v from %q", *c, want, payload)
		}
	})
}
