package latch

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Token types, as RFC 7009 names them in token_type_hint.
const (
	TokenTypeAccess  = "access_token"
	TokenTypeRefresh = "refresh_token"
)

// Introspection is what RFC 7662 introspection tells a client about a token.
// Only Active is meaningful when it is false.
type Introspection struct {
	Active     bool
	TokenType  string // TokenTypeAccess or TokenTypeRefresh
	UserID     UserID
	SessionID  SessionID
	ID         string // jti of an access token
	Generation uint64
	IssuedAt   time.Time // zero when unknown
	ExpiresAt  time.Time
}

// Introspect reports whether raw is a live access or refresh token, by the
// same rules as Authenticate and Refresh: signature (or tag), a live session
// of an enabled user, and a current generation. It never changes anything:
// no last-seen update, and a stale refresh token is merely inactive here
// (only Refresh treats it as theft). The token's format tells its type, so
// no hint is needed. An error means the store could not answer.
func (s *Service) Introspect(ctx context.Context, c *Client, raw string) (*Introspection, error) {
	now := s.now()
	if strings.HasPrefix(raw, refreshPrefix) {
		return s.introspectRefresh(ctx, raw, now)
	}
	p, sess, err := s.checkAccess(ctx, raw, now)
	if err != nil {
		return inactive(err)
	}
	return &Introspection{
		Active: true, TokenType: TokenTypeAccess, UserID: p.UserID, SessionID: p.SessionID, ID: p.Claims.ID,
		Generation: p.Claims.Generation, IssuedAt: p.Claims.IssuedAt, ExpiresAt: minTime(p.Claims.ExpiresAt, s.sessionEnd(sess)),
	}, nil
}

func (s *Service) introspectRefresh(ctx context.Context, raw string, now time.Time) (*Introspection, error) {
	rt, err := s.refresh.Parse(raw)
	if err != nil {
		return &Introspection{}, nil
	}
	sess, err := s.store.Session(ctx, rt.SessionID)
	if errors.Is(err, ErrNotFound) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, s.unavailable(err)
	}
	if s.Policy.check(sess, now) != nil {
		return &Introspection{}, nil
	}
	in := &Introspection{Active: true, TokenType: TokenTypeRefresh, UserID: sess.UserID, SessionID: sess.ID,
		Generation: rt.Generation, ExpiresAt: s.sessionEnd(sess)}
	switch {
	case rt.Generation == sess.Generation && rt.Hash().Equal(sess.RefreshHash):
		in.IssuedAt = sess.RotatedAt
		if rt.Generation == 0 {
			in.IssuedAt = sess.CreatedAt
		}
		return in, nil
	case rt.Generation+1 == sess.Generation && s.Policy.inGrace(sess, now) && rt.Hash().Equal(sess.PrevRefreshHash):
		return in, nil // still answers with the successor during the grace window
	}
	return &Introspection{}, nil
}

// inactive turns a refusal into {"active":false}; only a store failure
// remains an error.
func inactive(err error) (*Introspection, error) {
	if e, ok := errors.AsType[*Error](err); ok && e.Kind == KindUnavailable {
		return nil, err
	}
	return &Introspection{}, nil
}

// sessionEnd is when the session ends if nothing else happens.
func (s *Service) sessionEnd(sess *Session) time.Time {
	end := sess.ExpiresAt
	if s.Policy.IdleTimeout > 0 {
		end = minTime(end, sess.LastSeenAt.Add(s.Policy.IdleTimeout))
	}
	return end
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// RevokeToken ends the session of a token a client presents (RFC 7009),
// with reason token_revocation. Revoking a session ends every token of it;
// latch has no finer grain. A token that latch did not issue, or that is
// expired or unknown, is ignored without error (RFC 7009 §2.2). A refresh
// token of any generation counts: its tag proves latch issued it. An error
// means the store could not answer.
func (s *Service) RevokeToken(ctx context.Context, c *Client, raw string) error {
	return s.endTokenSession(ctx, raw, ReasonTokenRevocation, "by client "+c.Name+" (token revocation)")
}

// SignOutToken ends the session a token belongs to with reason logout: a
// browser that signs in again ends the session its old cookies held, so no
// session lingers that nobody holds. Tokens latch did not issue are ignored.
func (s *Service) SignOutToken(ctx context.Context, raw string) error {
	return s.endTokenSession(ctx, raw, ReasonLogout, "replaced by a new sign-in in the same browser")
}

// endTokenSession revokes the session of a refresh token (any generation:
// its tag proves latch issued it) or of a verified access token.
func (s *Service) endTokenSession(ctx context.Context, raw string, reason RevokeReason, detail string) error {
	now := s.now()
	var sid SessionID
	var owner UserID
	if strings.HasPrefix(raw, refreshPrefix) {
		rt, err := s.refresh.Parse(raw)
		if err != nil {
			return nil
		}
		sid = rt.SessionID
	} else {
		claims, err := s.verify(ctx, raw, now)
		if err != nil {
			return nil
		}
		sid, owner = SessionID(claims.SessionID), UserID(claims.Subject)
	}
	sess, err := s.store.Session(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return s.unavailable(err)
	}
	if owner != "" && sess.UserID != owner {
		return nil
	}
	r, err := s.store.RevokeSession(ctx, sid, reason, now)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.unavailable(err)
	}
	if r != nil {
		s.revoked(*r)
		s.audit(ctx, &AuditEvent{At: now, Type: AuditSessionRevoked, UserID: sess.UserID, SessionID: sid, Outcome: "ok", Detail: detail})
	}
	return nil
}
