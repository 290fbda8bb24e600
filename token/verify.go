package token

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/latchauth/latch/internal/strictjson"
)

// KeyLookup finds a verification key by key id. *KeySet implements it.
type KeyLookup interface {
	PublicKey(kid string) (ed25519.PublicKey, bool)
}

// Verifier checks latch access tokens. Its fields must be set before use and
// not changed afterwards.
type Verifier struct {
	Issuer   string
	Audience string
	// Leeway allows for clock skew on exp and iat; it is capped at MaxLeeway.
	Leeway time.Duration
	// Keys resolves the header's kid. Only these keys are ever used: keys
	// named or embedded in the token (jwk, jku, x5u, x5c) are refused.
	Keys KeyLookup
}

// header is the complete set of JOSE header members latch accepts. Any other
// member (crit, jwk, jku, x5u, x5c, b64, zip, enc, p2s, cty, ...) is refused.
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// Verify checks raw and returns its claims. The checks run cheapest first and
// the signature is verified before any claim is acted on.
func (v *Verifier) Verify(raw string, now time.Time) (*Claims, error) {
	key, payload, err := openJWS(raw, Type, v.Keys)
	if err != nil {
		return nil, err
	}

	leeway := min(max(v.Leeway, 0), MaxLeeway)
	var wc wireClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(v.Issuer),
		jwt.WithAudience(v.Audience),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err = parser.ParseWithClaims(raw, &wc, func(*jwt.Token) (any, error) { return key, nil })
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrExpired
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, ErrNotYetValid
	default:
		return nil, fmt.Errorf("%w: %v", ErrClaims, err)
	}
	// The signature is good: now hold the claims to latch's own rules, which
	// are stricter than the library's.
	if err := strictjson.Check(payload, 2); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrClaims, err)
	}
	c, err := wc.claims()
	if err != nil {
		return nil, err
	}
	if c.Issuer != v.Issuer || c.Audience != v.Audience {
		return nil, fmt.Errorf("%w: wrong issuer or audience", ErrClaims)
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return nil, fmt.Errorf("%w: exp not after iat", ErrClaims)
	}
	return c, nil
}

// openJWS checks the compact serialization and the header of raw, which
// must carry typ, and returns the key its kid names and the decoded payload.
// The signature is not checked yet.
func openJWS(raw, typ string, keys KeyLookup) (ed25519.PublicKey, []byte, error) {
	if len(raw) > MaxTokenBytes {
		return nil, nil, ErrTooLarge
	}
	hdrSeg, rest, ok1 := strings.Cut(raw, ".")
	paySeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || hdrSeg == "" || paySeg == "" || sigSeg == "" || strings.Contains(sigSeg, ".") {
		return nil, nil, ErrMalformed
	}
	if !isBase64URL(hdrSeg) || !isBase64URL(paySeg) || !isBase64URL(sigSeg) {
		return nil, nil, ErrMalformed
	}
	hdrJSON, err := decodeSegment(hdrSeg)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	h, err := parseHeader(hdrJSON, typ)
	if err != nil {
		return nil, nil, err
	}
	key, ok := keys.PublicKey(h.Kid)
	if !ok {
		return nil, nil, ErrUnknownKey
	}
	payload, err := decodeSegment(paySeg)
	if err != nil || !utf8.Valid(payload) {
		return nil, nil, ErrMalformed
	}
	return key, payload, nil
}

// parseHeader accepts exactly {"alg":"EdDSA","typ":typ,"kid":"<known>"} in
// any member order, with nothing else. An explicit typ keeps an access token
// from passing as a security event token and the reverse (RFC 8725 §3.11).
func parseHeader(data []byte, typ string) (*header, error) {
	if !utf8.Valid(data) {
		return nil, ErrMalformed
	}
	if err := strictjson.Check(data, 1); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	var h header
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	switch {
	case h.Alg != Algorithm:
		return nil, fmt.Errorf("%w: algorithm", ErrHeader)
	case !strings.EqualFold(h.Typ, typ) && !strings.EqualFold(h.Typ, "application/"+typ):
		return nil, fmt.Errorf("%w: type", ErrHeader)
	case h.Kid == "" || len(h.Kid) > 128:
		return nil, fmt.Errorf("%w: key id", ErrHeader)
	}
	return &h, nil
}

// isBase64URL reports whether s uses only the unpadded base64url alphabet.
// encoding/base64 silently skips CR and LF even in strict mode.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeSegment decodes canonical unpadded base64url: nonzero trailing bits
// are rejected, so one token has exactly one encoding.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// numericDate is a JWT NumericDate restricted to what latch mints: a plain
// non-negative integer of seconds. Strings, fractions, exponents, negatives
// and dates past year 9999 are refused while decoding.
type numericDate struct{ t time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || len(b) > 12 {
		return errors.New("NumericDate out of range")
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return errors.New("NumericDate must be an integer")
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n > maxNumericDate {
		return errors.New("NumericDate out of range")
	}
	d.t = time.Unix(n, 0)
	return nil
}

func (d *numericDate) jwt() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return jwt.NewNumericDate(d.t)
}

// wireClaims is the decoded payload. Pointers tell missing from empty; a
// type mismatch (aud as an array, gen as a string) fails decoding.
type wireClaims struct {
	Iss *string      `json:"iss"`
	Aud *string      `json:"aud"`
	Sub *string      `json:"sub"`
	Sid *string      `json:"sid"`
	Jti *string      `json:"jti"`
	Gen *uint64      `json:"gen"`
	Iat *numericDate `json:"iat"`
	Exp *numericDate `json:"exp"`
	Nbf *numericDate `json:"nbf"`
}

func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return w.Exp.jwt(), nil }
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return w.Iat.jwt(), nil }
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return w.Nbf.jwt(), nil }
func (w *wireClaims) GetIssuer() (string, error)                   { return deref(w.Iss), nil }
func (w *wireClaims) GetSubject() (string, error)                  { return deref(w.Sub), nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error) {
	if w.Aud == nil {
		return nil, nil
	}
	return jwt.ClaimStrings{*w.Aud}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// claims checks presence and form of every required claim.
func (w *wireClaims) claims() (*Claims, error) {
	if w.Iss == nil || w.Aud == nil || w.Sub == nil || w.Sid == nil || w.Jti == nil || w.Gen == nil || w.Iat == nil || w.Exp == nil {
		return nil, fmt.Errorf("%w: a required claim is missing", ErrClaims)
	}
	for _, id := range []string{*w.Sub, *w.Sid, *w.Jti} {
		if !IsCanonicalUUID(id) {
			return nil, fmt.Errorf("%w: malformed identifier", ErrClaims)
		}
	}
	return &Claims{
		Issuer: *w.Iss, Audience: *w.Aud, Subject: *w.Sub, SessionID: *w.Sid, ID: *w.Jti,
		Generation: *w.Gen, IssuedAt: w.Iat.t, ExpiresAt: w.Exp.t,
	}, nil
}

// IsCanonicalUUID reports whether s is a lowercase hyphenated UUID, the only
// form latch writes. uuid.Parse alone also accepts braces and urn: prefixes.
func IsCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
