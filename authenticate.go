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
func (s *Service) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	now := s.now()
	p, sess, err := s.checkAccess(ctx, raw, now)
	if err != nil {
		return nil, err
	}
	s.touch(sess, now)
	return p, nil
}

// checkAccess applies the per-request rule without recording activity.
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
		return nil, nil, unavailable(err)
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
	return &Principal{UserID: sess.UserID, SessionID: sid, Claims: c}, sess, nil
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
func (s *Service) touch(sess *Session, now time.Time) {
	if now.Sub(sess.LastSeenAt) < lastSeenEvery {
		return
	}
	if _, busy := s.touching.LoadOrStore(sess.ID, struct{}{}); busy {
		return
	}
	select {
	case s.touchSlots <- struct{}{}:
	default:
		s.touching.Delete(sess.ID)
		return
	}
	s.bg.Go(func() {
		defer func() { <-s.touchSlots; s.touching.Delete(sess.ID) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			s.logger().Warn("update session last seen", "session_id", string(sess.ID), "err", err)
		}
	})
}

// Me returns the authenticated user.
func (s *Service) Me(ctx context.Context, p *Principal) (*User, error) {
	u, err := s.store.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidToken(err)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return u, nil
}
