package latch

import (
	"errors"
	"fmt"
)

// Store sentinels. Stores wrap them; Service turns them into *Error.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule or a compare-and-swap precondition failed.
	ErrConflict = errors.New("conflict")
)

// Kind classifies an Error for the transport layer. The server maps each kind
// to one HTTP status in one table.
type Kind int

// Kinds of client-facing errors.
const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindRateLimited
	KindUnavailable
)

// Error codes are a documented, append-only contract with clients.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeValidationFailed    = "validation_failed"
	CodeEmailTaken          = "email_taken"
	CodeInvalidCredentials  = "invalid_credentials"
	CodeAccountDisabled     = "account_disabled"
	CodeMissingToken        = "missing_token"
	CodeInvalidToken        = "invalid_token"
	CodeTokenExpired        = "token_expired"
	CodeTokenSuperseded     = "token_superseded"
	CodeSessionRevoked      = "session_revoked"
	CodeSessionExpired      = "session_expired"
	CodeInvalidRefreshToken = "invalid_refresh_token"
	CodeRefreshTokenReused  = "refresh_token_reused"
	CodeNotFound            = "not_found"
	CodeBusy                = "busy"
	CodeRateLimited         = "rate_limited"
	CodeUnavailable         = "unavailable"
	CodeInternal            = "internal"
)

// Error is an error safe to show to a client. Message never contains a token,
// password or hash; Err carries the cause for logs only.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Field names the offending request field for validation errors.
	Field string
	// RetryAfter, when positive, is how long a client should wait (429/503).
	RetryAfter int
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// unavailable wraps a store failure. Every caller that cannot reach the store
// refuses the request: this is where latch fails closed.
func unavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Code: CodeUnavailable, Message: "the session store is unavailable; try again shortly", RetryAfter: 1, Err: err}
}

// Common client errors, shared so every path says the same thing.
var (
	errInvalidCredentials = func() *Error {
		return errorf(KindUnauthenticated, CodeInvalidCredentials, "email or password is incorrect")
	}
	errInvalidToken = func(cause error) *Error {
		return &Error{Kind: KindUnauthenticated, Code: CodeInvalidToken, Message: "the access token is invalid", Err: cause}
	}
)
