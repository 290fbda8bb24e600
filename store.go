package latch

import (
	"context"
	"time"
)

// Store persists users, sessions, signing keys and events. Every method is
// atomic; a multi-step change has its own method instead of a transaction
// handle. Stores only persist: every rule lives in Service.
//
// Errors wrap ErrNotFound or ErrConflict where those apply; any other error
// means the store could not answer, and callers fail closed.
type Store interface {
	// CreateUser inserts u. ErrConflict if the email (case-insensitive) exists.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail looks up by the key from NormalizeEmail.
	UserByEmail(ctx context.Context, emailKey string) (*User, error)
	UserByID(ctx context.Context, id UserID) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// SetPasswordHash replaces the hash without ending any session (rehash on login).
	SetPasswordHash(ctx context.Context, id UserID, hash string) error
	// ChangePassword replaces the hash and, in the same transaction, revokes
	// every live session of the user except keep with ReasonPasswordChange.
	ChangePassword(ctx context.Context, id UserID, hash string, keep SessionID, now time.Time) ([]Revocation, error)
	// SetUserDisabled disables or enables the user. Disabling also revokes
	// every live session with ReasonUserDisabled, atomically.
	SetUserDisabled(ctx context.Context, id UserID, disabled bool, now time.Time) ([]Revocation, error)

	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with UserDisabled filled in.
	Session(ctx context.Context, id SessionID) (*Session, error)
	// SessionsByUser returns the user's live sessions and those that ended at
	// or after endedSince, newest first.
	SessionsByUser(ctx context.Context, id UserID, endedSince time.Time) ([]*Session, error)
	// RotateRefresh advances a live session from generation from to from+1
	// in one compare-and-swap: the current hash becomes the previous one,
	// next becomes current, RotatedAt and LastSeenAt become now. ErrConflict
	// if the generation moved or the session was revoked meanwhile.
	RotateRefresh(ctx context.Context, id SessionID, from uint64, next TokenHash, now time.Time) error
	// TouchSession sets LastSeenAt (throttled by the caller).
	TouchSession(ctx context.Context, id SessionID, at time.Time) error
	// RevokeSession ends a live session and records a revocation event in
	// the same transaction. It returns nil and no error if the session had
	// already ended, and ErrNotFound if it does not exist.
	RevokeSession(ctx context.Context, id SessionID, reason RevokeReason, now time.Time) (*Revocation, error)
	// RevokeUserSessions ends every live session of the user but except.
	RevokeUserSessions(ctx context.Context, id UserID, except SessionID, reason RevokeReason, now time.Time) ([]Revocation, error)
	// RevocationsAfter returns up to limit revocation events with Seq > after, oldest first.
	RevocationsAfter(ctx context.Context, after int64, limit int) ([]Revocation, error)
	// RevocationHead returns the highest Seq so far (0 when there is none).
	RevocationHead(ctx context.Context) (int64, error)

	AppendAudit(ctx context.Context, e *AuditEvent) error
	AuditEvents(ctx context.Context, q AuditQuery) ([]*AuditEvent, error)

	// SigningKeys returns every stored signing key, newest first.
	SigningKeys(ctx context.Context) ([]*StoredKey, error)
	// AddSigningKey stores a new key. ErrConflict if the id exists.
	AddSigningKey(ctx context.Context, k *StoredKey) error
	// SetSigningKeyRetired marks a key as no longer used for verification.
	SetSigningKeyRetired(ctx context.Context, id string, at time.Time) error

	// Meta and SetMetaIfAbsent keep small installation facts, such as the
	// fingerprint of the secret that seals the signing keys. SetMetaIfAbsent
	// returns the value now stored.
	Meta(ctx context.Context, key string) (string, error)
	SetMetaIfAbsent(ctx context.Context, key, value string) (string, error)

	// Ping reports whether the store can answer (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// RevocationListener is implemented by stores that can push revocations
// committed by other processes or nodes (PostgreSQL LISTEN/NOTIFY), so
// caches learn of them within milliseconds instead of polling.
type RevocationListener interface {
	// ListenRevocations runs until ctx ends or the notification connection
	// fails, and returns why. Once it is listening it calls up(); from then
	// on every revocation committed anywhere is followed by a call to wake()
	// (calls may be coalesced). The caller reads RevocationsAfter to learn
	// what changed, and treats a return as "no longer informed".
	ListenRevocations(ctx context.Context, up func(), wake func()) error
}

// Revocation is one session-ended event, ordered by Seq across the whole
// installation. The revocation feed and cache invalidation read these.
type Revocation struct {
	Seq       int64
	SessionID SessionID
	UserID    UserID
	Reason    RevokeReason
	At        time.Time
}

// StoredKey is a signing key at rest: the private key is sealed with a key
// derived from latch's secret file, so the database alone signs nothing.
type StoredKey struct {
	ID        string // RFC 7638 thumbprint
	Algorithm string
	PublicKey []byte
	SealedKey []byte
	CreatedAt time.Time
	RetiredAt time.Time // zero while in use
}
