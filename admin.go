package latch

import (
	"context"
	"errors"
	"time"
)

// Administrative operations, used by the CLI against the same database a
// running server uses. Their effects apply from the server's next request.

// UserByEmail finds a user for an operator.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	_, key := NormalizeEmail(email)
	u, err := s.store.UserByEmail(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(KindNotFound, CodeNotFound, "no user with email %q", email)
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	return u, nil
}

// Users lists every user.
func (s *Service) Users(ctx context.Context) ([]*User, error) {
	us, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, s.unavailable(err)
	}
	return us, nil
}

// CreateUser creates a user without signing them in.
func (s *Service) CreateUser(ctx context.Context, email, pw string) (*User, error) {
	display, _ := NormalizeEmail(email)
	if e := validateEmail(display); e != nil {
		return nil, e
	}
	if e := validatePassword("password", pw); e != nil {
		return nil, e
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return nil, hasherError(err)
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	u := &User{ID: UserID(id), Email: display, PasswordHash: hash, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, &Error{Kind: KindConflict, Code: CodeEmailTaken, Field: "email", Message: "an account with this email already exists"}
		}
		return nil, s.unavailable(err)
	}
	s.audit(ctx, &AuditEvent{At: u.CreatedAt, Type: AuditSignup, UserID: u.ID, Outcome: "ok", Detail: "created by an operator"})
	return u, nil
}

// SetUserDisabled disables (ending every session at once) or re-enables a user.
func (s *Service) SetUserDisabled(ctx context.Context, email string, disabled bool) error {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	now := s.now()
	revs, err := s.store.SetUserDisabled(ctx, u.ID, disabled, now)
	if err != nil {
		return s.unavailable(err)
	}
	s.revoked(revs...)
	typ := AuditUserEnabled
	if disabled {
		typ = AuditUserDisabled
	}
	s.audit(ctx, &AuditEvent{At: now, Type: typ, UserID: u.ID, Outcome: "ok", Detail: "by an operator"})
	return nil
}

// UserSessions lists a user's sessions for an operator.
func (s *Service) UserSessions(ctx context.Context, email string) ([]SessionView, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.sessionsOf(ctx, u.ID, "")
}

// AdminRevokeSession ends one session with reason "admin".
func (s *Service) AdminRevokeSession(ctx context.Context, id SessionID) error {
	now := s.now()
	r, err := s.store.RevokeSession(ctx, id, ReasonAdmin, now)
	if errors.Is(err, ErrNotFound) {
		return errorf(KindNotFound, CodeNotFound, "no session %s", id)
	}
	if err != nil {
		return s.unavailable(err)
	}
	if r != nil {
		s.revoked(*r)
		s.audit(ctx, &AuditEvent{At: now, Type: AuditSessionRevoked, UserID: r.UserID, SessionID: id, Outcome: "ok", Detail: "by an operator"})
	}
	return nil
}

// AdminRevokeUserSessions ends every session of a user with reason "admin".
func (s *Service) AdminRevokeUserSessions(ctx context.Context, email string) (int, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return 0, err
	}
	now := s.now()
	revs, err := s.store.RevokeUserSessions(ctx, u.ID, "", ReasonAdmin, now)
	if err != nil {
		return 0, s.unavailable(err)
	}
	s.revoked(revs...)
	for _, r := range revs {
		s.audit(ctx, &AuditEvent{At: now, Type: AuditSessionRevoked, UserID: u.ID, SessionID: r.SessionID, Outcome: "ok", Detail: "by an operator"})
	}
	return len(revs), nil
}

// Audit returns audit events, newest first.
func (s *Service) Audit(ctx context.Context, email string, since time.Duration, limit int) ([]*AuditEvent, error) {
	q := AuditQuery{Limit: limit}
	if email != "" {
		u, err := s.UserByEmail(ctx, email)
		if err != nil {
			return nil, err
		}
		q.UserID = u.ID
	}
	if since > 0 {
		q.Since = s.now().Add(-since)
	}
	evs, err := s.store.AuditEvents(ctx, q)
	if err != nil {
		return nil, s.unavailable(err)
	}
	return evs, nil
}
