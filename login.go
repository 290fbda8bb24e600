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
	// Counted after the checks that cost nothing, so a person fixing a
	// typo in the form is not held up; before the hash, which costs.
	now := s.now()
	if e := s.limits.take(ctx, s.lim.SignupPerIP, "signup/ip", ipSubject(d.IP), now); e != nil {
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
// and a wrong password are indistinguishable: same error, same limits, and
// exactly one password-hash verification either way.
//
// Limits, checked before any password work: requests per client IP; wrong
// passwords for this account from this client; and wrong passwords for
// this account from everywhere, which once exhausted admits only clients
// that have held a session of the account recently (limit.go).
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
	now := s.now()
	client := ipSubject(d.IP)
	if e := s.limits.take(ctx, s.lim.LoginPerIP, "login/ip", client, now); e != nil {
		return nil, e
	}
	// Failure counters are charged before the password is checked and
	// refunded if it was right (limit.go, refund): a burst of concurrent
	// guesses cannot all pass the check while the first ones hash.
	pair := key + "\x00" + client
	if e := s.limits.take(ctx, s.lim.LoginFailuresPerClient, "login-failures/client", pair, now); e != nil {
		return nil, e
	}
	refundClient := func() { s.limits.refund(ctx, s.lim.LoginFailuresPerClient, "login-failures/client", pair, now) }
	failed := func(uid UserID, outcome string) {
		s.counters.loginsFailed.Add(1)
		s.audit(ctx, &AuditEvent{Type: AuditLoginFailed, UserID: uid, Email: display, IP: d.IP, UserAgent: d.UserAgent, Outcome: outcome})
	}

	u, err := s.store.UserByEmail(ctx, key)
	if errors.Is(err, ErrNotFound) {
		u, err = nil, nil
	}
	if err != nil {
		refundClient()
		return nil, s.unavailable(err)
	}
	// Past the account's budget only clients that held a session of it
	// recently may keep trying (uncharged: the budget is already spent).
	accountCharged := true
	if e := s.limits.take(ctx, s.lim.LoginFailuresPerAccount, "login-failures/account", key, now); e != nil {
		if e.Kind != KindRateLimited {
			refundClient()
			return nil, e
		}
		known, err := s.knownClient(ctx, u, d.IP, now)
		if err != nil {
			refundClient()
			return nil, s.unavailable(err)
		}
		if !known {
			refundClient()
			return nil, e
		}
		accountCharged = false
	}
	refundAll := func() {
		refundClient()
		if accountCharged {
			s.limits.refund(ctx, s.lim.LoginFailuresPerAccount, "login-failures/account", key, now)
		}
	}
	if u == nil {
		if _, _, err := s.hasher.Verify(ctx, pw, s.dummyHash); err != nil {
			refundAll()
			return nil, hasherError(err)
		}
		failed("", CodeInvalidCredentials)
		return nil, errInvalidCredentials()
	}
	ok, rehash, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		refundAll()
		return nil, hasherError(err)
	}
	if !ok {
		failed(u.ID, CodeInvalidCredentials)
		return nil, errInvalidCredentials()
	}
	// The right password: this attempt was no failure. The client's count
	// is cleared; the account's gets its one event back (clearing it would
	// let a guesser's budget restart whenever the owner signs in).
	s.limits.reset(ctx, "login-failures/client", pair)
	if accountCharged {
		s.limits.refund(ctx, s.lim.LoginFailuresPerAccount, "login-failures/account", key, now)
	}
	// Only someone who knows the password learns the account is disabled.
	if u.Disabled() {
		failed(u.ID, CodeAccountDisabled)
		return nil, errorf(KindForbidden, CodeAccountDisabled, "this account is disabled")
	}
	if rehash {
		s.rehash(ctx, u, pw)
	}
	g, err := s.startSession(ctx, u, d, now)
	if err != nil {
		return nil, err
	}
	s.counters.loginsOK.Add(1)
	s.audit(ctx, &AuditEvent{At: now, Type: AuditLogin, UserID: u.ID, SessionID: g.Session.ID, IP: d.IP, UserAgent: d.UserAgent, Outcome: "ok"})
	return g, nil
}

// knownClientWindow is how recently a client must have held a session of an
// account to keep signing in while the account is under attack.
const knownClientWindow = 30 * 24 * time.Hour

// knownClient reports whether ip (by ipSubject) started a session of u that
// is live or ended in the last 30 days. For an unknown email (u nil) the
// same query runs for a user that cannot exist, so both cost the same.
func (s *Service) knownClient(ctx context.Context, u *User, ip string, now time.Time) (bool, error) {
	uid := UserID("00000000-0000-0000-0000-000000000000")
	if u != nil {
		uid = u.ID
	}
	list, err := s.store.SessionsByUser(ctx, uid, now.Add(-knownClientWindow))
	if err != nil {
		return false, err
	}
	want := ipSubject(ip)
	for _, sess := range list {
		if ipSubject(sess.IP) == want {
			return u != nil, nil
		}
	}
	return false, nil
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
