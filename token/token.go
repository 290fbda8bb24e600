// Package token mints and verifies latch access tokens: compact JWS (RFC 7515)
// signed with Ed25519, shaped as RFC 9068 JWT access tokens. Signing and the
// signature check go through github.com/golang-jwt/jwt/v5. Everything around
// the signature is done here, strictly, because the library is lax where an
// attacker profits: it decodes the claims of a token before checking its
// signature, matches member names case-insensitively, and accepts duplicate
// members, unknown header members, fractional and string dates, and
// non-UTF-8 input. Verify decodes no claim before the signature holds.
//
// The package never imports latch, so other services (see package guard) can
// verify latch tokens with it.
package token

import (
	"errors"
	"time"
)

// Algorithm is the only JWS algorithm latch signs and accepts.
const Algorithm = "EdDSA"

// Type is the JOSE "typ" of latch access tokens (RFC 9068 §2.1).
const Type = "at+jwt"

// MaxTokenBytes caps the size of a token before any parsing.
const MaxTokenBytes = 8 << 10

// MaxLeeway bounds the clock-skew allowance a Verifier accepts.
const MaxLeeway = 30 * time.Second

// maxNumericDate is 9999-12-31T23:59:59Z: later dates are not plausible and
// could overflow time arithmetic.
const maxNumericDate = 253402300799

// Claims are the claims of a latch access token. All are required.
type Claims struct {
	Issuer     string    `json:"iss"`
	Audience   string    `json:"aud"`
	Subject    string    `json:"sub"` // user id
	SessionID  string    `json:"sid"`
	ID         string    `json:"jti"`
	Generation uint64    `json:"gen"` // session refresh generation at minting
	IssuedAt   time.Time `json:"iat"`
	ExpiresAt  time.Time `json:"exp"`
}

// Errors returned by Verify. Every one means "refuse the token"; only
// ErrExpired is reported after the signature has been checked, so an expired
// token with a bad signature is classified as ErrSignature.
var (
	ErrMalformed   = errors.New("token: malformed")
	ErrTooLarge    = errors.New("token: too large")
	ErrHeader      = errors.New("token: unacceptable header")
	ErrUnknownKey  = errors.New("token: unknown key id")
	ErrSignature   = errors.New("token: invalid signature")
	ErrClaims      = errors.New("token: invalid claims")
	ErrExpired     = errors.New("token: expired")
	ErrNotYetValid = errors.New("token: used before issued")
)
