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

func revokedEvent() *token.SessionRevoked {
	return &token.SessionRevoked{
		Issuer: "https://auth.example", Audience: "notes", ID: "42-7a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
		IssuedAt:  now.Add(time.Second),
		SessionID: "7a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", UserID: "6f1c8b0e-2a3d-4e5f-8a9b-0c1d2e3f4a5b",
		EventTime: now, InitiatingEntity: "user", Reason: "logout", ReasonUser: "You signed out.",
	}
}

var setVerifier = &token.SETVerifier{Issuer: "https://auth.example", Audience: "notes", Keys: keys}

func TestSessionRevokedRoundTrip(t *testing.T) {
	want := revokedEvent()
	raw, err := token.SignSessionRevoked(key, want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := setVerifier.VerifySessionRevoked(raw)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *want {
		t.Fatalf("VerifySessionRevoked = %+v, want %+v", got, want)
	}
	// The standard shape, member by member (CAEP 1.0 §3.1, RFC 9493, RFC 8417).
	parts := strings.Split(raw, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if !strings.Contains(string(hdr), `"typ":"secevent+jwt"`) {
		t.Errorf("header = %s", hdr)
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	sub := m["sub_id"].(map[string]any)
	if sub["format"] != "complex" || sub["session"].(map[string]any)["id"] != want.SessionID ||
		sub["user"].(map[string]any)["format"] != "iss_sub" || sub["user"].(map[string]any)["sub"] != want.UserID {
		t.Errorf("sub_id = %v", sub)
	}
	ev := m["events"].(map[string]any)[token.EventSessionRevoked].(map[string]any)
	if ev["event_timestamp"].(float64) != float64(now.Unix()) || ev["initiating_entity"] != "user" ||
		ev["reason_admin"].(map[string]any)["en"] != "logout" {
		t.Errorf("event = %v", ev)
	}
	for _, k := range []string{"sub", "exp"} {
		if _, ok := m[k]; ok {
			t.Errorf("SET has %q; RFC 8417 SETs must not look like access tokens", k)
		}
	}
}

// A SET is not an access token and an access token is not a SET: typ differs.
func TestSETAndAccessTokenDoNotMix(t *testing.T) {
	raw, _ := token.SignSessionRevoked(key, revokedEvent())
	if _, err := v.Verify(raw, now); !errors.Is(err, token.ErrHeader) {
		t.Errorf("Verify(SET) = %v, want ErrHeader", err)
	}
	if _, err := setVerifier.VerifySessionRevoked(sign(t, claims())); !errors.Is(err, token.ErrHeader) {
		t.Errorf("VerifySessionRevoked(access token) = %v, want ErrHeader", err)
	}
}

func TestSessionRevokedRejects(t *testing.T) {
	good, _ := token.SignSessionRevoked(key, revokedEvent())
	mutate := func(f func(e *token.SessionRevoked)) string {
		e := revokedEvent()
		f(e)
		s, err := token.SignSessionRevoked(key, e)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherKey, _ := token.NewKey(ed25519.NewKeyFromSeed([]byte("another seed another seed 012345")), now)
	foreign, _ := token.SignSessionRevoked(otherKey, revokedEvent())
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"tampered signature", good[:len(good)-4] + "AAAA", token.ErrSignature},
		{"unknown key", foreign, token.ErrUnknownKey},
		{"wrong audience", mutate(func(e *token.SessionRevoked) { e.Audience = "other" }), token.ErrClaims},
		{"wrong issuer", mutate(func(e *token.SessionRevoked) { e.Issuer = "https://evil.example" }), token.ErrClaims},
		{"bad session id", mutate(func(e *token.SessionRevoked) { e.SessionID = "not-a-uuid" }), token.ErrClaims},
		{"empty jti", mutate(func(e *token.SessionRevoked) { e.ID = "" }), token.ErrClaims},
		{"garbage", "a.b.c", token.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := setVerifier.VerifySessionRevoked(tt.raw); !errors.Is(err, tt.want) {
				t.Fatalf("VerifySessionRevoked = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerifySessionRevoked(f *testing.F) {
	good, _ := token.SignSessionRevoked(key, revokedEvent())
	for _, s := range []string{good, "", "..", good + "x", good[:60]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := setVerifier.VerifySessionRevoked(s); err == nil && s != good {
			t.Fatalf("accepted a SET latch did not sign: %q", s)
		}
	})
}
