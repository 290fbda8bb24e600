package latch

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Secret is the installation secret, kept in a file outside the database.
// Every other server-side key is derived from it with HKDF (RFC 5869): the
// key that seals signing keys at rest and the refresh-chain keys. A copy of
// the database without this file yields no usable token and no signing key.
// Nodes that share a database must share this secret.
type Secret struct {
	b [32]byte
	_ [0]func() // incomparable: == is not constant-time
}

// GenerateSecret returns a new secret and its file form.
func GenerateSecret(r io.Reader) (*Secret, []byte, error) {
	s := new(Secret)
	if _, err := io.ReadFull(r, s.b[:]); err != nil {
		return nil, nil, fmt.Errorf("generate secret: %w", err)
	}
	return s, []byte(hex.EncodeToString(s.b[:]) + "\n"), nil
}

// ParseSecret reads the file form: 64 hex digits, surrounding space ignored.
func ParseSecret(data []byte) (*Secret, error) {
	raw, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != 32 {
		return nil, errors.New("secret must be 64 hexadecimal digits (32 bytes)")
	}
	s := new(Secret)
	copy(s.b[:], raw)
	return s, nil
}

// String keeps the secret out of logs.
func (s *Secret) String() string { return "REDACTED" }

// derive returns a 32-byte subkey for one purpose.
func (s *Secret) derive(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, s.b[:], nil, "latch v1 "+purpose, 32)
	if err != nil {
		panic(err) // only for lengths hkdf cannot produce; 32 is fine
	}
	return k
}

// Fingerprint identifies the secret without revealing it. The database
// stores it so a node started with the wrong secret file refuses to run.
func (s *Secret) Fingerprint() string { return hex.EncodeToString(s.derive("fingerprint")[:16]) }

// RefreshKeys returns the keys of the refresh-token chain.
func (s *Secret) RefreshKeys() *RefreshKeys {
	k, _ := NewRefreshKeys(s.derive("refresh chain"), s.derive("refresh tag"))
	return k
}

func (s *Secret) sealAEAD() cipher.AEAD {
	block, err := aes.NewCipher(s.derive("signing key seal"))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// seal encrypts a private key with AES-256-GCM, bound to its key id.
func (s *Secret) seal(r io.Reader, kid string, plaintext []byte) ([]byte, error) {
	aead := s.sealAEAD()
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(kid)), nil
}

func (s *Secret) open(kid string, sealed []byte) ([]byte, error) {
	aead := s.sealAEAD()
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed key too short")
	}
	pt, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(kid))
	if err != nil {
		return nil, errors.New("sealed key does not open with this secret")
	}
	return pt, nil
}
