package latch

import (
	"context"
	"errors"
	"log/slog"
)

// maxRotateAttempts bounds compare-and-swap retries when concurrent
// refreshes of one session collide. Each retry re-reads the session, so the
// losers land on the grace path and get the winner's successor.
const maxRotateAttempts = 4

// Refresh exchanges a refresh token for a new access token and the next
// refresh token. Order is decided only by the session's generation:
//
//   - the current generation rotates (compare-and-swap on the generation);
//   - the previous generation within the grace window gets the same
//     successor the first caller got (derived, not stored), so parallel
//     tabs and lost responses converge on one lineage;
//   - any older generation, or the previous one after the window, is
//     treated as theft: the whole session is revoked.
func (s *Service) Refresh(ctx context.Context, raw string, d Device) (*Grant, error) {
	d = d.clean()
	now := s.now()
	if e := s.limits.take(ctx, s.lim.RefreshPerIP, "refresh/ip", ipSubject(d.IP), now); e != nil {
		return nil, e
	}
	rt, err := s.refresh.Parse(raw)
	if err != nil {
		return nil, &Error{Kind: KindUnauthenticated, Code: CodeInvalidRefreshToken, Message: "the refresh token is invalid", Err: err}
	}
	invalid := func(why string) error {
		return &Error{Kind: KindUnauthenticated, Code: CodeInvalidRefreshToken, Message: "the refresh token is invalid", Err: errors.New(why)}
	}
	charged := false
	for range maxRotateAttempts {
		sess, err := s.store.Session(ctx, rt.SessionID)
		if errors.Is(err, ErrNotFound) {
			return nil, invalid("no such session")
		}
		if err != nil {
			return nil, s.unavailable(err)
		}
		if e := s.Policy.check(sess, now); e != nil {
			return nil, e
		}
		if !charged {
			if e := s.limits.take(ctx, s.lim.RefreshPerAccount, "refresh/account", string(sess.UserID), now); e != nil {
				return nil, e
			}
			charged = true
		}
		switch {
		case rt.Generation == sess.Generation:
			if !rt.Hash().Equal(sess.RefreshHash) {
				return nil, invalid("secret does not match the current generation")
			}
			next := s.refresh.next(rt)
			err := s.store.RotateRefresh(ctx, sess.ID, sess.Generation, next.Hash(), now)
			if errors.Is(err, ErrConflict) {
				continue // someone else rotated or revoked: decide again on fresh state
			}
			if err != nil {
				return nil, s.unavailable(err)
			}
			sess.PrevRefreshHash, sess.RefreshHash = sess.RefreshHash, next.Hash()
			sess.Generation, sess.RotatedAt, sess.LastSeenAt = next.Generation, now, now
			if s.sessions != nil {
				s.sessions.update(sess.ID, func(e *cachedSession) { e.sess = *sess })
			}
			s.counters.refreshes.Add(1)
			s.audit(ctx, &AuditEvent{At: now, Type: AuditRefresh, UserID: sess.UserID, SessionID: sess.ID, IP: d.IP, UserAgent: d.UserAgent, Outcome: "ok"})
			return s.grant(nil, sess, next, now)

		case rt.Generation+1 == sess.Generation && s.Policy.inGrace(sess, now):
			if !rt.Hash().Equal(sess.PrevRefreshHash) {
				return nil, invalid("secret does not match the previous generation")
			}
			next := s.refresh.next(rt)
			if !next.Hash().Equal(sess.RefreshHash) {
				return nil, invalid("derived successor does not match")
			}
			return s.grant(nil, sess, next, now)

		case rt.Generation < sess.Generation:
			return nil, s.reuseDetected(ctx, sess, rt, d)

		default:
			return nil, invalid("generation from the future")
		}
	}
	return nil, unavailable(errors.New("refresh: too much contention on one session"))
}

// reuseDetected revokes the session a stale refresh token belongs to. The
// token's tag was genuine, so latch itself issued it: either the client lost
// track of its tokens or someone else has a copy. Both holders are cut off.
func (s *Service) reuseDetected(ctx context.Context, sess *Session, rt *RefreshToken, d Device) error {
	now := s.now()
	s.counters.reuse.Add(1)
	rev, err := s.store.RevokeSession(ctx, sess.ID, ReasonRefreshReuse, now)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.unavailable(err)
	}
	if rev != nil {
		s.revoked(*rev)
	}
	s.logger().LogAttrs(ctx, slog.LevelWarn, "refresh token reuse: session revoked", slog.Bool("audit", true),
		slog.String("session_id", string(sess.ID)), slog.String("user_id", string(sess.UserID)),
		slog.Uint64("presented_generation", rt.Generation), slog.Uint64("current_generation", sess.Generation))
	s.audit(ctx, &AuditEvent{At: now, Type: AuditRefreshReuse, UserID: sess.UserID, SessionID: sess.ID, IP: d.IP, UserAgent: d.UserAgent,
		Outcome: CodeRefreshTokenReused, Detail: "stale refresh token presented; session revoked"})
	return errorf(KindUnauthenticated, CodeRefreshTokenReused, "this refresh token was already used; the session has been signed out for safety")
}
