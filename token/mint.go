package token

import (
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// mintClaims is the wire form of Claims with integer NumericDates.
type mintClaims struct {
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Sub string `json:"sub"`
	Sid string `json:"sid"`
	Jti string `json:"jti"`
	Gen uint64 `json:"gen"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

func (mintClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (mintClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (mintClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (mintClaims) GetIssuer() (string, error)                   { return "", nil }
func (mintClaims) GetSubject() (string, error)                  { return "", nil }
func (mintClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// Sign mints a compact JWS access token for c with key.
func Sign(key *Key, c *Claims) (string, error) {
	if key == nil || key.private == nil {
		return "", errors.New("token: no signing key")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, mintClaims{
		Iss: c.Issuer, Aud: c.Audience, Sub: c.Subject, Sid: c.SessionID, Jti: c.ID, Gen: c.Generation,
		Iat: c.IssuedAt.Unix(), Exp: c.ExpiresAt.Unix(),
	})
	t.Header["typ"] = Type
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.private)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return s, nil
}
