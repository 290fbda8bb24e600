package latch

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"
)

// Signup creates a user and signs them in.
func (s *Service) Signup(ctx context.Context, email, pw string, d Device) (*Grant, error) {
	d = d.clean()
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
	now := s.now()
	u := &User{ID: UserID(id), Email: display, PasswordHash: hash, CreatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, &Error{Kind: KindConflict, Code: CodeEmailTaken, Field: "email", Message: "an account with this email already exists"}
		}
		return nil, s.unavailable(err)
	}
	g, err := s.startSession(ctx, u, d, now)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, &AuditEvent{At: now, Type: AuditSignup, UserID: u.ID, SessionID: g.Session.ID, IP: d.IP, UserAgent: d.UserAgent, Outcome: "ok"})
	return g, nil
}

// Login checks an email and password and starts a session. An unknown email
// and a wrong password are indistinguishable: same error, and exactly one
// password-hash verification either way.
func (s *Service) Login(ctx context.Context, email, pw string, d Device) (*Grant, error) {
	d = d.clean()
	display, key := NormalizeEmail(email)
	switch {
	case display == "":
		return nil, &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "email", Message: "email is required"}
	case len(display) > maxEmailBytes:
		return nil, &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "email", Message: "email must be at most 254 bytes"}
	case !utf8.ValidString(display) || !plainChars(display):
		// No account can have such an address, so saying so reveals
		// nothing; it also keeps junk out of the audit log.
		return nil, &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "email", Message: "email must not contain spaces, control or invisible formatting characters"}
	case pw == "":
		return nil, &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "password", Message: "password is required"}
	case len(pw) > MaxPasswordBytes:
		return nil, &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "password", Message: "password must be at most 1024 bytes"}
	}
	failed := func(uid UserID, outcome string) {
		s.counters.loginsFailed.Add(1)
		s.audit(ctx, &AuditEvent{Type: AuditLoginFailed, UserID: uid, Email: display, IP: d.IP, UserAgent: d.UserAgent, Outcome: outcome})
	}

	u, err := s.store.UserByEmail(ctx, key)
	if errors.Is(err, ErrNotFound) {
		if _, _, err := s.hasher.Verify(ctx, pw, s.dummyHash); err != nil {
			return nil, hasherError(err)
		}
		failed("", CodeInvalidCredentials)
		return nil, errInvalidCredentials()
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	ok, rehash, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return nil, hasherError(err)
	}
	if !ok {
		failed(u.ID, CodeInvalidCredentials)
		return nil, errInvalidCredentials()
	}
	// Only someone who knows the password learns the account is disabled.
	if u.Disabled() {
		failed(u.ID, CodeAccountDisabled)
		return nil, errorf(KindForbidden, CodeAccountDisabled, "this account is disabled")
	}
	if rehash {
		s.rehash(ctx, u, pw)
	}
	now := s.now()
	g, err := s.startSession(ctx, u, d, now)
	if err != nil {
		return nil, err
	}
	s.counters.loginsOK.Add(1)
	s.audit(ctx, &AuditEvent{At: now, Type: AuditLogin, UserID: u.ID, SessionID: g.Session.ID, IP: d.IP, UserAgent: d.UserAgent, Outcome: "ok"})
	return g, nil
}

// rehash upgrades a hash made with weaker parameters. Failure is logged and
// the login proceeds: the old hash is still valid.
func (s *Service) rehash(ctx context.Context, u *User, pw string) {
	h, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, u.ID, h)
	}
	if err != nil {
		s.logger().Warn("password rehash failed", "user_id", string(u.ID), "err", err)
	}
}

// startSession creates a session with a fresh refresh chain and mints its
// first access token.
func (s *Service) startSession(ctx context.Context, u *User, d Device, now time.Time) (*Grant, error) {
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	sid := SessionID(id)
	rt, err := newRefreshToken(sid, s.rand())
	if err != nil {
		return nil, err
	}
	sess := &Session{
		ID: sid, UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.Policy.MaxAge),
		IP: d.IP, UserAgent: d.UserAgent, RefreshHash: rt.Hash(),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, s.unavailable(err)
	}
	return s.grant(u, sess, rt, now)
}

func (s *Service) grant(u *User, sess *Session, rt *RefreshToken, now time.Time) (*Grant, error) {
	at, err := s.mint(sess.UserID, sess.ID, rt.Generation, now)
	if err != nil {
		return nil, err
	}
	return &Grant{
		User: u, Session: sess, AccessToken: at, ExpiresIn: s.Policy.AccessTTL,
		RefreshToken: s.refresh.Encode(rt),
	}, nil
}
