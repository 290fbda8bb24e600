package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

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

// maxKeyID bounds the kid member; latch's are 43 characters.
const maxKeyID = 128

// Verify checks raw and returns its claims. The order is fixed and cheapest
// first: size, shape and alphabet; the header (exactly alg, typ and kid);
// the key, from latch's own set only; the signature. Only then is the
// payload decoded at all, so no claim of an unsigned token is ever parsed
// and an expired token with a bad signature is reported as ErrSignature.
func (v *Verifier) Verify(raw string, now time.Time) (*Claims, error) {
	payload, err := openJWS(raw, Type, v.Keys)
	if err != nil {
		return nil, err
	}
	var c Claims
	nbf, err := parseClaims(payload, &c)
	if err != nil {
		return nil, err
	}
	if c.Issuer != v.Issuer || c.Audience != v.Audience {
		return nil, detail(ErrClaims, "", "wrong issuer or audience")
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return nil, detail(ErrClaims, "exp", "not after iat")
	}
	leeway := min(max(v.Leeway, 0), MaxLeeway)
	switch {
	case !now.Before(c.ExpiresAt.Add(leeway)):
		return nil, ErrExpired
	case c.IssuedAt.After(now.Add(leeway)):
		return nil, ErrNotYetValid
	case !nbf.IsZero() && nbf.After(now.Add(leeway)):
		return nil, ErrNotYetValid
	}
	out := c // only an accepted token's claims reach the heap
	return &out, nil
}

// openJWS checks a compact JWS whose header must carry typ, in a fixed
// order, cheapest first: size, shape and alphabet; the header (exactly alg,
// typ and kid); the key, from the given set only; the signature. Only then
// is the payload decoded and returned, so no claim of an unsigned token is
// ever parsed and an expired token with a bad signature is reported as
// ErrSignature. An explicit typ keeps an access token from passing as a
// security event token and the reverse (RFC 8725 §3.11).
func openJWS(raw, typ string, keys KeyLookup) ([]byte, error) {
	if len(raw) > MaxTokenBytes {
		return nil, ErrTooLarge
	}
	hdrSeg, rest, ok1 := strings.Cut(raw, ".")
	paySeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || hdrSeg == "" || paySeg == "" || sigSeg == "" || strings.Contains(sigSeg, ".") {
		return nil, ErrMalformed
	}
	if !isBase64URL(hdrSeg) || !isBase64URL(paySeg) || !isBase64URL(sigSeg) {
		return nil, ErrMalformed
	}
	hdrJSON, err := decodeSegment(hdrSeg)
	if err != nil {
		return nil, ErrMalformed
	}
	kid, err := parseHeader(hdrJSON, typ)
	if err != nil {
		return nil, err
	}
	key, ok := keys.PublicKey(kid)
	if !ok {
		return nil, ErrUnknownKey
	}
	sig, err := decodeSegment(sigSeg)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, ErrSignature
	}
	// crypto/ed25519 refuses S >= L and compares R byte for byte with a
	// canonical encoding, so a signature has exactly one accepted form.
	if err := jwt.SigningMethodEdDSA.Verify(raw[:len(hdrSeg)+1+len(paySeg)], sig, key); err != nil {
		return nil, ErrSignature
	}
	// The signature is good: latch minted this payload. Callers hold it to
	// latch's own rules anyway, so a bug in minting can never widen what is
	// accepted.
	payload, err := decodeSegment(paySeg)
	if err != nil || !utf8.Valid(payload) {
		return nil, ErrMalformed
	}
	return payload, nil
}

// parseHeader accepts exactly {"alg":"EdDSA","typ":typ,"kid":"..."} in any
// member order, with nothing else, and returns the kid. Those are the
// only members, spelled exactly so: any other (crit, jwk, jku, x5u, x5c,
// b64, zip, enc, p2s, p2c, cty, ...) and any other spelling ("ALG", "Kid")
// is refused.
func parseHeader(data []byte, typ string) (string, error) {
	if !utf8.Valid(data) {
		return "", ErrMalformed
	}
	var buf [4]strictjson.Member
	members, err := strictjson.Members(data, 1, buf[:0])
	if err != nil {
		return "", detail(ErrHeader, "", err.Error())
	}
	var alg, htyp, kid string
	for _, m := range members {
		var dst *string
		switch m.Name {
		case "alg":
			dst = &alg
		case "typ":
			dst = &htyp
		case "kid":
			dst = &kid
		default:
			return "", detail(ErrHeader, m.Name, "is not allowed")
		}
		if *dst, err = strictjson.String(m.Value); err != nil {
			return "", detail(ErrHeader, m.Name, "must be a string")
		}
	}
	switch {
	case alg != Algorithm:
		return "", detail(ErrHeader, "alg", "is not "+Algorithm)
	// Media types compare case-insensitively (RFC 7515 §4.1.9, RFC 9068 §2.1).
	case !strings.EqualFold(htyp, typ) && !strings.EqualFold(htyp, "application/"+typ):
		return "", detail(ErrHeader, "typ", "is not "+typ)
	case kid == "" || len(kid) > maxKeyID:
		return "", detail(ErrHeader, "kid", "is empty or too long")
	}
	return kid, nil
}

// parseClaims decodes a signed payload. Members are matched by their exact
// names (encoding/json alone would also take "SUB" for "sub"); case-folded
// duplicates are refused by strictjson, so a claim has one value to every
// reader. Every claim latch mints is required; unknown claims are ignored
// (RFC 7519 §4) so a newer latch can add one without breaking older nodes.
func parseClaims(payload []byte, c *Claims) (time.Time, error) {
	var buf [12]strictjson.Member
	members, err := strictjson.Members(payload, 2, buf[:0])
	if err != nil {
		return time.Time{}, detail(ErrClaims, "", err.Error())
	}
	var (
		nbf  time.Time
		seen uint
	)
	for _, m := range members {
		var err error
		switch m.Name {
		case "iss":
			c.Issuer, err = strictjson.String(m.Value)
		case "aud":
			c.Audience, err = strictjson.String(m.Value)
		case "sub":
			c.Subject, err = strictjson.String(m.Value)
		case "sid":
			c.SessionID, err = strictjson.String(m.Value)
		case "jti":
			c.ID, err = strictjson.String(m.Value)
		case "gen":
			c.Generation, err = parseUint(m.Value, 1<<63-1)
		case "iat":
			c.IssuedAt, err = parseNumericDate(m.Value)
		case "exp":
			c.ExpiresAt, err = parseNumericDate(m.Value)
		case "nbf":
			nbf, err = parseNumericDate(m.Value)
		default:
			continue
		}
		if err != nil {
			return time.Time{}, detail(ErrClaims, m.Name, err.Error())
		}
		seen |= 1 << claimBit[m.Name]
	}
	if seen&requiredClaims != requiredClaims {
		return time.Time{}, detail(ErrClaims, "", "a required claim is missing")
	}
	if !IsCanonicalUUID(c.Subject) || !IsCanonicalUUID(c.SessionID) || !IsCanonicalUUID(c.ID) {
		return time.Time{}, detail(ErrClaims, "", "malformed identifier")
	}
	return nbf, nil
}

// claimBit numbers the claims latch reads; requiredClaims has a bit set for
// each one latch mints.
var claimBit = map[string]uint{"iss": 0, "aud": 1, "sub": 2, "sid": 3, "jti": 4, "gen": 5, "iat": 6, "exp": 7, "nbf": 8}

const requiredClaims = 1<<8 - 1

// Errors for parseUint, static so refusing costs nothing.
var (
	errNotUint    = errors.New("must be a non-negative integer without sign, fraction, exponent or leading zero")
	errOutOfRange = errors.New("out of range")
)

// parseUint accepts only a plain JSON integer: digits, no sign, no leading
// zero, no fraction or exponent, at most limit.
func parseUint(raw []byte, limit uint64) (uint64, error) {
	if len(raw) == 0 || (len(raw) > 1 && raw[0] == '0') {
		return 0, errNotUint
	}
	var n uint64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, errNotUint
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, errOutOfRange
		}
		n = n*10 + d
	}
	return n, nil
}

// parseNumericDate reads a JWT NumericDate restricted to what latch mints: a plain
// non-negative integer of seconds. Strings, fractions, exponents, negatives
// and dates past year 9999 are refused.
func parseNumericDate(raw []byte) (time.Time, error) {
	n, err := parseUint(raw, maxNumericDate)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(n), 0), nil
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

// detailError is a refusal with what caused it, for logs. It is built
// without formatting: refusing a token must not cost more than accepting one.
type detailError struct {
	kind         error
	member, what string
}

func detail(kind error, member, what string) error { return &detailError{kind, member, what} }

func (e *detailError) Error() string {
	if e.member == "" {
		return e.kind.Error() + ": " + e.what
	}
	return e.kind.Error() + ": " + strconv.QuoteToASCII(truncate(e.member)) + " " + e.what
}

func (e *detailError) Unwrap() error { return e.kind }

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// IsCanonicalUUID reports whether s is a lowercase hyphenated UUID, the only
// form latch writes (uuid.Parse alone also accepts upper case, braces and
// urn: prefixes).
func IsCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
