package latch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/google/uuid"
)

// A refresh token is opaque to clients. Its bytes are
//
//	version(1) | session id(16) | generation(8, big-endian) | secret(32) | tag(16)
//
// base64url-encoded without padding behind the prefix "latch_rt_" (which lets
// secret scanners spot leaked tokens).
//
// The secret of generation 0 is 256 random bits. Each later secret is derived
// from the one before with a server key that never touches the database:
//
//	secret[g+1] = HMAC-SHA256(chainKey, "latch refresh chain v1" | sid | g+1 | secret[g])
//
// so the grace window can hand a second caller the very successor the first
// one got without storing it, and a thief holding secret[g] cannot compute
// later generations. The tag, HMAC-SHA256(tagKey, everything before it)
// truncated to 128 bits, proves in constant time that latch minted the
// token: a stale generation is treated as theft only when its tag is genuine,
// so knowing a session id is not enough to kill the session.
const (
	refreshPrefix    = "latch_rt_"
	refreshVersion   = 1
	refreshSecretLen = 32
	refreshTagLen    = 16
	refreshBodyLen   = 1 + 16 + 8 + refreshSecretLen
	refreshRawLen    = refreshBodyLen + refreshTagLen
)

// RefreshKeys are the server-side keys of the refresh-token scheme, derived
// from latch's secret file and never stored in the database.
type RefreshKeys struct {
	chain [32]byte
	tag   [32]byte
	_     [0]func() // incomparable: == is not constant-time
}

// NewRefreshKeys derives both keys from a master secret.
func NewRefreshKeys(chainKey, tagKey []byte) (*RefreshKeys, error) {
	if len(chainKey) != 32 || len(tagKey) != 32 {
		return nil, errors.New("latch: refresh keys must be 32 bytes each")
	}
	k := new(RefreshKeys)
	copy(k.chain[:], chainKey)
	copy(k.tag[:], tagKey)
	return k, nil
}

// RefreshToken is a parsed refresh token. Its secret is never logged.
type RefreshToken struct {
	SessionID  SessionID
	Generation uint64
	secret     [refreshSecretLen]byte
}

// LogValue keeps the secret out of structured logs.
func (t RefreshToken) String() string {
	return "refresh token of session " + string(t.SessionID)
}

// Hash returns the stored form of this token's secret.
func (t *RefreshToken) Hash() TokenHash { return HashSecret(t.secret[:]) }

// newRefreshToken starts a chain with a random secret.
func newRefreshToken(sid SessionID, r io.Reader) (*RefreshToken, error) {
	t := &RefreshToken{SessionID: sid}
	if _, err := io.ReadFull(r, t.secret[:]); err != nil {
		return nil, err
	}
	return t, nil
}

// next derives the successor token.
func (k *RefreshKeys) next(t *RefreshToken) *RefreshToken {
	n := &RefreshToken{SessionID: t.SessionID, Generation: t.Generation + 1}
	id := uuid.MustParse(string(t.SessionID))
	m := hmac.New(sha256.New, k.chain[:])
	m.Write([]byte("latch refresh chain v1"))
	m.Write(id[:])
	m.Write(binary.BigEndian.AppendUint64(nil, n.Generation))
	m.Write(t.secret[:])
	copy(n.secret[:], m.Sum(nil))
	return n
}

func (k *RefreshKeys) tagOf(body []byte) []byte {
	m := hmac.New(sha256.New, k.tag[:])
	m.Write(body)
	return m.Sum(nil)[:refreshTagLen]
}

// Encode returns the token's wire form.
func (k *RefreshKeys) Encode(t *RefreshToken) string {
	id := uuid.MustParse(string(t.SessionID))
	raw := make([]byte, 0, refreshRawLen)
	raw = append(raw, refreshVersion)
	raw = append(raw, id[:]...)
	raw = binary.BigEndian.AppendUint64(raw, t.Generation)
	raw = append(raw, t.secret[:]...)
	raw = append(raw, k.tagOf(raw)...)
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// errMalformedRefresh is deliberately uninformative: the client learns only
// that the token is not one latch accepts.
var errMalformedRefresh = errors.New("malformed refresh token")

// Parse decodes a refresh token and checks its tag. It rejects every form
// but the exact one Encode produces (no padding, no whitespace, no other
// alphabet, no trailing bits) before any store lookup.
func (k *RefreshKeys) Parse(s string) (*RefreshToken, error) {
	const encodedLen = len(refreshPrefix) + (refreshRawLen*8+5)/6
	if len(s) != encodedLen || !strings.HasPrefix(s, refreshPrefix) {
		return nil, errMalformedRefresh
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s[len(refreshPrefix):])
	if err != nil || len(raw) != refreshRawLen || raw[0] != refreshVersion {
		return nil, errMalformedRefresh
	}
	if !hmac.Equal(k.tagOf(raw[:refreshBodyLen]), raw[refreshBodyLen:]) {
		return nil, errMalformedRefresh
	}
	id, err := uuid.FromBytes(raw[1:17])
	if err != nil || id.Version() != 4 || id.Variant() != uuid.RFC4122 {
		return nil, errMalformedRefresh
	}
	t := &RefreshToken{SessionID: SessionID(id.String()), Generation: binary.BigEndian.Uint64(raw[17:25])}
	copy(t.secret[:], raw[25:refreshBodyLen])
	return t, nil
}
