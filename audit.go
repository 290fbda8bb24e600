package latch

import "time"

// AuditType names a security event. Values are stored: append-only.
type AuditType string

// Audit event types.
const (
	AuditSignup         AuditType = "signup"
	AuditLogin          AuditType = "login"
	AuditLoginFailed    AuditType = "login_failed"
	AuditRefresh        AuditType = "refresh"
	AuditRefreshReuse   AuditType = "refresh_reuse_detected"
	AuditLogout         AuditType = "logout"
	AuditSessionRevoked AuditType = "session_revoked"
	AuditPasswordChange AuditType = "password_change"
	AuditUserDisabled   AuditType = "user_disabled"
	AuditUserEnabled    AuditType = "user_enabled"
)

// AuditEvent is one row of the audit log. It never holds a token, password
// or hash.
type AuditEvent struct {
	ID        int64
	At        time.Time
	Type      AuditType
	UserID    UserID
	SessionID SessionID
	// Email is recorded for failed logins, where there may be no user.
	Email     string
	IP        string
	UserAgent string
	// Outcome is "ok" or a client error code such as "invalid_credentials".
	Outcome string
	Detail  string
}

// AuditQuery filters AuditEvents. Zero fields match everything.
type AuditQuery struct {
	UserID UserID
	Since  time.Time
	Limit  int
}
