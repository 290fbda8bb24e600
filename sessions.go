package latch

import (
	"context"
	"errors"
	"time"
)

// LogoutScope selects which sessions a logout ends.
type LogoutScope string

// Logout scopes.
const (
	ScopeCurrent LogoutScope = "current"
	ScopeOthers  LogoutScope = "others"
	ScopeAll     LogoutScope = "all"
)

// ReasonRevokedByUser: the user signed out one of their other devices.
const ReasonRevokedByUser RevokeReason = "revoked_by_user"

// historyWindow is how far back ended sessions are listed.
const historyWindow = 30 * 24 * time.Hour

// revoked tells listeners (caches, the revocation feed) about ended sessions.
func (s *Service) revoked(revs ...Revocation) {
	if len(revs) == 0 {
		return
	}
	for _, r := range revs {
		s.counters.revocation(r.Reason)
		if s.sessions != nil {
			s.sessions.invalidate(r.SessionID)
		}
	}
	if s.OnRevoke != nil {
		for _, r := range revs {
			s.OnRevoke(r)
		}
	}
	s.revHub.wake()
}

// Logout ends the caller's session, their other sessions, or all of them.
func (s *Service) Logout(ctx context.Context, p *Principal, scope LogoutScope, d Device) error {
	d = d.clean()
	now := s.now()
	var (
		revs []Revocation
		err  error
	)
	switch scope {
	case ScopeCurrent, "":
		var r *Revocation
		r, err = s.store.RevokeSession(ctx, p.SessionID, ReasonLogout, now)
		if r != nil {
			revs = append(revs, *r)
		}
	case ScopeOthers:
		revs, err = s.store.RevokeUserSessions(ctx, p.UserID, p.SessionID, ReasonLogoutOthers, now)
	case ScopeAll:
		revs, err = s.store.RevokeUserSessions(ctx, p.UserID, "", ReasonLogoutAll, now)
	default:
		return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "scope", Message: "scope must be current, others or all"}
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.unavailable(err)
	}
	s.revoked(revs...)
	s.audit(ctx, &AuditEvent{At: now, Type: AuditLogout, UserID: p.UserID, SessionID: p.SessionID, IP: d.IP, UserAgent: d.UserAgent,
		Outcome: "ok", Detail: "scope=" + string(scopeOr(scope))})
	return nil
}

func scopeOr(s LogoutScope) LogoutScope {
	if s == "" {
		return ScopeCurrent
	}
	return s
}

// SessionView is a session as its owner sees it.
type SessionView struct {
	*Session
	Current bool
	// EndedAt and EndReason describe a session that is over: revoked, or
	// expired (EndReason "expired").
	EndedAt   time.Time
	EndReason RevokeReason
}

// ReasonExpired marks sessions that ended by reaching a lifetime limit. It
// is computed for listings, never stored.
const ReasonExpired RevokeReason = "expired"

// Sessions lists the caller's live sessions and those that ended in the last
// 30 days, so a user can see which device was signed out and why.
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]SessionView, error) {
	return s.sessionsOf(ctx, p.UserID, p.SessionID)
}

func (s *Service) sessionsOf(ctx context.Context, uid UserID, current SessionID) ([]SessionView, error) {
	now := s.now()
	list, err := s.store.SessionsByUser(ctx, uid, now.Add(-historyWindow))
	if err != nil {
		return nil, s.unavailable(err)
	}
	views := make([]SessionView, 0, len(list))
	for _, sess := range list {
		v := SessionView{Session: sess, Current: sess.ID == current}
		switch {
		case sess.Revoked():
			v.EndedAt, v.EndReason = sess.RevokedAt, sess.RevokeReason
		case !now.Before(sess.ExpiresAt):
			v.EndedAt, v.EndReason = sess.ExpiresAt, ReasonExpired
		case s.Policy.IdleTimeout > 0 && !now.Before(sess.LastSeenAt.Add(s.Policy.IdleTimeout)):
			v.EndedAt, v.EndReason = sess.LastSeenAt.Add(s.Policy.IdleTimeout), ReasonExpired
		}
		if !v.EndedAt.IsZero() && v.EndedAt.Before(now.Add(-historyWindow)) {
			continue
		}
		views = append(views, v)
	}
	return views, nil
}

// RevokeSession ends one of the caller's sessions. Another user's session
// is reported as not found, exactly like a session that does not exist.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, id SessionID, d Device) error {
	d = d.clean()
	notFound := errorf(KindNotFound, CodeNotFound, "no such session")
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return notFound
	}
	if err != nil {
		return s.unavailable(err)
	}
	if sess.UserID != p.UserID {
		return notFound
	}
	reason := ReasonRevokedByUser
	if id == p.SessionID {
		reason = ReasonLogout
	}
	now := s.now()
	r, err := s.store.RevokeSession(ctx, id, reason, now)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.unavailable(err)
	}
	if r != nil {
		s.revoked(*r)
	}
	s.audit(ctx, &AuditEvent{At: now, Type: AuditSessionRevoked, UserID: p.UserID, SessionID: id, IP: d.IP, UserAgent: d.UserAgent,
		Outcome: "ok", Detail: "by the user from session " + string(p.SessionID)})
	return nil
}

// ChangePassword checks the current password, sets the new one and ends
// every other session of the user at once; the caller's session survives.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, d Device) error {
	d = d.clean()
	now := s.now()
	if e := s.limits.take(ctx, s.lim.PasswordPerIP, "password/ip", ipSubject(d.IP), now); e != nil {
		return e
	}
	account := string(p.UserID)
	if current == "" {
		return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "current_password", Message: "current_password is required"}
	}
	if len(current) > MaxPasswordBytes {
		return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "current_password", Message: "current_password must be at most 1024 bytes"}
	}
	if e := validatePassword("new_password", next); e != nil {
		return e
	}
	// Charged before the check and refunded if the password was right, so
	// a burst of concurrent guesses with a stolen token cannot all pass
	// (limit.go, refund).
	if e := s.limits.take(ctx, s.lim.PasswordFailuresPerAccount, "password-failures/account", account, now); e != nil {
		return e
	}
	refund := func() {
		s.limits.refund(ctx, s.lim.PasswordFailuresPerAccount, "password-failures/account", account, now)
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		refund()
		return errInvalidToken(err)
	}
	if err != nil {
		refund()
		return s.unavailable(err)
	}
	ok, _, err := s.hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		refund()
		return hasherError(err)
	}
	if !ok {
		s.audit(ctx, &AuditEvent{Type: AuditPasswordChange, UserID: u.ID, SessionID: p.SessionID, IP: d.IP, UserAgent: d.UserAgent, Outcome: CodeInvalidCredentials})
		// The caller is signed in: naming the field reveals nothing, and
		// the code (not invalid_token) tells a client its session is fine.
		return &Error{Kind: KindUnauthenticated, Code: CodeInvalidCredentials, Field: "current_password", Message: "the current password is incorrect"}
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return hasherError(err)
	}
	revs, err := s.store.ChangePassword(ctx, u.ID, hash, p.SessionID, now)
	if err != nil {
		return s.unavailable(err)
	}
	s.revoked(revs...)
	s.limits.reset(ctx, "password-failures/account", account)
	s.audit(ctx, &AuditEvent{At: now, Type: AuditPasswordChange, UserID: u.ID, SessionID: p.SessionID, IP: d.IP, UserAgent: d.UserAgent, Outcome: "ok"})
	return nil
}
