package latch

import (
	"crypto/sha256"
	"crypto/subtle"
	"time"
)

// SessionID identifies a session. It is a random UUID in canonical form.
type SessionID string

// RevokeReason records why a session ended. Values are stored and shown to
// users, so they are append-only.
type RevokeReason string

// Reasons a session ends.
const (
	ReasonLogout          RevokeReason = "logout"
	ReasonLogoutOthers    RevokeReason = "logout_others"
	ReasonLogoutAll       RevokeReason = "logout_all"
	ReasonPasswordChange  RevokeReason = "password_change"
	ReasonRefreshReuse    RevokeReason = "refresh_token_reuse"
	ReasonAdmin           RevokeReason = "admin"
	ReasonUserDisabled    RevokeReason = "user_disabled"
	ReasonTokenRevocation RevokeReason = "token_revocation"
)

// TokenHash is the SHA-256 of a token secret. Only hashes are stored.
type TokenHash [sha256.Size]byte

// HashSecret returns the stored form of a token secret. The secrets carry 256
// random bits, so a fast hash is enough: there is nothing to brute-force.
func HashSecret(secret []byte) TokenHash { return sha256.Sum256(secret) }

// Equal compares in constant time.
func (h TokenHash) Equal(o TokenHash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }

// String keeps hashes out of logs and error messages.
func (h TokenHash) String() string { return "REDACTED" }

// Session is one sign-in on one device. It outlives many access tokens and
// refresh generations.
type Session struct {
	ID         SessionID
	UserID     UserID
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	IP         string
	UserAgent  string

	// Generation counts refreshes. Every access and refresh token names the
	// generation it was minted at; rotation is a compare-and-swap on it.
	Generation uint64
	// RefreshHash is the hash of the current generation's refresh secret,
	// PrevRefreshHash the one before it (for the grace window).
	RefreshHash     TokenHash
	PrevRefreshHash TokenHash
	// RotatedAt is when Generation last advanced; zero before the first refresh.
	RotatedAt time.Time

	RevokedAt    time.Time
	RevokeReason RevokeReason

	// UserDisabled is read with the session (a join), so one read answers
	// every per-request question.
	UserDisabled bool
}

// Revoked reports whether the session has been ended.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Policy holds the lifetimes that decide whether sessions and tokens are live.
type Policy struct {
	AccessTTL    time.Duration // access-token lifetime
	MaxAge       time.Duration // absolute session lifetime
	IdleTimeout  time.Duration // session ends after this long without activity
	RefreshGrace time.Duration // window in which the previous refresh token still answers
}

// DefaultPolicy returns latch's documented defaults.
func DefaultPolicy() Policy {
	return Policy{
		AccessTTL:    15 * time.Minute,
		MaxAge:       30 * 24 * time.Hour,
		IdleTimeout:  7 * 24 * time.Hour,
		RefreshGrace: 10 * time.Second,
	}
}

// check reports why the session may not be used at now, or nil.
func (p Policy) check(s *Session, now time.Time) *Error {
	switch {
	case s.Revoked():
		return errorf(KindUnauthenticated, CodeSessionRevoked, "the session has been signed out")
	case s.UserDisabled:
		return errorf(KindUnauthenticated, CodeSessionRevoked, "the account is disabled")
	case !now.Before(s.ExpiresAt):
		return errorf(KindUnauthenticated, CodeSessionExpired, "the session has expired")
	case p.IdleTimeout > 0 && !now.Before(s.LastSeenAt.Add(p.IdleTimeout)):
		return errorf(KindUnauthenticated, CodeSessionExpired, "the session has expired after inactivity")
	}
	return nil
}

// checkGeneration reports whether an access token minted at gen is still
// current: the session's generation, or the one before it while the last
// rotation's grace window is open (several tabs refreshing at once).
func (p Policy) checkGeneration(s *Session, gen uint64, now time.Time) *Error {
	switch {
	case gen == s.Generation:
		return nil
	case gen+1 == s.Generation && p.inGrace(s, now):
		return nil
	case gen > s.Generation:
		return errInvalidToken(nil)
	}
	return errorf(KindUnauthenticated, CodeTokenSuperseded, "the access token was replaced by a newer one")
}

// inGrace reports whether the session's last rotation happened no longer than
// RefreshGrace before now (inclusive).
func (p Policy) inGrace(s *Session, now time.Time) bool {
	return !s.RotatedAt.IsZero() && !now.After(s.RotatedAt.Add(p.RefreshGrace))
}
