package latch

import (
	"context"
	"errors"
	"time"

	"github.com/latchauth/latch/token"
)

// lastSeenEvery throttles last-seen writes: at most one per session per minute.
const lastSeenEvery = time.Minute

// keyReloadEvery rate-limits store reloads triggered by an unknown key id
// (another node may have rotated keys). The reload never leaves the store:
// a token cannot make latch fetch anything from anywhere.
const keyReloadEvery = time.Second

// Authenticate checks an access token on every request: the signature and
// claims, then the session it names: it must exist, be live and unexpired,
// belong to an enabled user, and the token's generation must be current. If
// the store cannot answer, the request is refused (fail closed).
//
// A token seen before skips the signature check (its exp is still checked)
// and a recently read session skips the store, but only while the
// revocation follower vouches for the cache (cache.go, follower.go).
func (s *Service) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	now := s.now()
	// The principal is this call's one allocation; the claims live in it.
	p := new(Principal)
	var (
		key    tokenKey
		cached bool
	)
	if s.tokens != nil && len(raw) <= token.MaxTokenBytes {
		key = s.tokens.key(raw)
		if e, ok := s.tokens.get(key); ok {
			if !now.Before(time.Unix(e.exp, 0).Add(ownLeeway)) { // the verifier's rule
				return nil, &Error{Kind: KindUnauthenticated, Code: CodeTokenExpired, Message: "the access token has expired", Err: token.ErrExpired}
			}
			p.Claims, cached = e.claims(s.issuer, s.audience), true
		}
	}
	if !cached {
		c, err := s.verify(ctx, raw, now)
		if err != nil {
			return nil, err
		}
		p.Claims = *c
	}
	c := &p.Claims
	sid := SessionID(c.SessionID)
	p.UserID, p.SessionID = UserID(c.Subject), sid
	if s.stateless {
		return p, nil
	}
	sess, err := s.session(ctx, sid, c.Generation, now)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidToken(err)
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	if string(sess.UserID) != c.Subject {
		return nil, errInvalidToken(errors.New("subject does not own the session"))
	}
	if e := s.Policy.check(&sess, now); e != nil {
		return nil, e
	}
	if e := s.Policy.checkGeneration(&sess, c.Generation, now); e != nil {
		return nil, e
	}
	if s.tokens != nil && !cached {
		// Only a token that passed every check enters the cache.
		s.tokens.put(key, compactClaims(c))
	}
	s.touch(sid, sess.LastSeenAt, now)
	return p, nil
}

// checkAccess applies the per-request rule for introspection: always the
// signature and the store's current session (no caches, never the stateless
// benchmark shortcut), and no last-seen update.
func (s *Service) checkAccess(ctx context.Context, raw string, now time.Time) (*Principal, *Session, error) {
	c, err := s.verify(ctx, raw, now)
	if err != nil {
		return nil, nil, err
	}
	sid := SessionID(c.SessionID)
	sess, err := s.store.Session(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errInvalidToken(err)
	}
	if err != nil {
		return nil, nil, s.unavailable(err)
	}
	if string(sess.UserID) != c.Subject {
		return nil, nil, errInvalidToken(errors.New("subject does not own the session"))
	}
	if e := s.Policy.check(sess, now); e != nil {
		return nil, nil, e
	}
	if e := s.Policy.checkGeneration(sess, c.Generation, now); e != nil {
		return nil, nil, e
	}
	return &Principal{UserID: sess.UserID, SessionID: sid, Claims: *c}, sess, nil
}

// session returns the session's state: from the cache when it is trusted,
// no revocation notice is waiting to be applied, and the entry is fresh and
// not older than the token's generation; else from the store.
func (s *Service) session(ctx context.Context, sid SessionID, gen uint64, now time.Time) (Session, error) {
	if s.sessions == nil || !s.cacheTrusted.Load() || s.heard.Load() != s.applied.Load() {
		s.counters.cacheBypasses.Add(1)
		sess, err := s.store.Session(ctx, sid)
		if err != nil {
			return Session{}, err
		}
		return *sess, nil
	}
	e, epoch, ok := s.sessions.get(sid, now)
	if ok && gen <= e.sess.Generation {
		s.counters.cacheHits.Add(1)
		return e.sess, nil
	}
	s.counters.cacheMisses.Add(1)
	sess, err := s.store.Session(ctx, sid)
	if err != nil {
		return Session{}, err
	}
	sess.ID = sid // the claims' string: the token cache holds the same one
	s.sessions.put(&cachedSession{sess: *sess, loadedAt: now}, epoch)
	return *sess, nil
}

// verify checks the token itself, reloading keys once if its kid is unknown.
func (s *Service) verify(ctx context.Context, raw string, now time.Time) (*token.Claims, error) {
	c, err := s.verifier.Verify(raw, now)
	if errors.Is(err, token.ErrUnknownKey) && s.mayReloadKeys(now) {
		if rerr := s.ReloadKeys(ctx); rerr != nil {
			s.logger().Warn("reload signing keys", "err", rerr)
		} else {
			c, err = s.verifier.Verify(raw, now)
		}
	}
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, token.ErrExpired):
		return nil, &Error{Kind: KindUnauthenticated, Code: CodeTokenExpired, Message: "the access token has expired", Err: err}
	default:
		return nil, errInvalidToken(err)
	}
}

func (s *Service) mayReloadKeys(now time.Time) bool {
	last := s.lastKeyReload.Load()
	if now.UnixNano()-last < int64(keyReloadEvery) {
		return false
	}
	return s.lastKeyReload.CompareAndSwap(last, now.UnixNano())
}

// touch records activity for the idle timeout, at most once a minute per
// session, off the request path. When all write slots are busy it skips:
// a later request will try again.
func (s *Service) touch(id SessionID, lastSeen, now time.Time) {
	if now.Sub(lastSeen) < lastSeenEvery {
		return
	}
	if _, busy := s.touching.LoadOrStore(id, struct{}{}); busy {
		return
	}
	select {
	case s.touchSlots <- struct{}{}:
	default:
		s.touching.Delete(id)
		return
	}
	if s.sessions != nil {
		s.sessions.update(id, func(e *cachedSession) { e.sess.LastSeenAt = now })
	}
	s.bg.Go(func() {
		defer func() { <-s.touchSlots; s.touching.Delete(id) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.store.TouchSession(ctx, id, now); err != nil {
			s.counters.storeErrors.Add(1)
			s.logger().Warn("update session last seen", "session_id", string(id), "err", err)
		}
	})
}

// Me returns the authenticated user's public fields.
func (s *Service) Me(ctx context.Context, p *Principal) (*User, error) {
	if s.users != nil {
		if u := s.users.get(p.UserID); u != nil {
			return u, nil
		}
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidToken(err)
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	if s.users != nil {
		s.users.put(u)
	}
	return &User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt}, nil
}
