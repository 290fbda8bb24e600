package guard

import (
	"context"
	"errors"
	"log/slog"

	"github.com/latchauth/latch/token"
)

// Check verifies an access token and decides whether its session is live,
// exactly as [Guard.Require] does for each request. A refusal is a
// *[Refusal].
func (g *Guard) Check(ctx context.Context, raw string) (*token.Claims, error) {
	now := g.cfg.Now()
	if !g.keys.loaded() {
		// Without keys nothing can be verified locally.
		if g.cfg.Fallback == Introspect {
			return g.introspect(ctx, raw, nil)
		}
		return nil, unavailable("guard has not loaded latch's keys yet")
	}
	c, err := g.verifier.Verify(raw, now)
	if errors.Is(err, token.ErrUnknownKey) {
		// latch may have rotated its key: refetch (rate-limited) and retry.
		if rerr := g.keys.refresh(ctx); rerr == nil {
			c, err = g.verifier.Verify(raw, now)
		} else if !errors.Is(rerr, errRateLimited) {
			g.logger.Warn("refetch JWKS for an unknown key id", "err", rerr)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, token.ErrExpired):
		return nil, refusal(401, codeTokenExpired, "the access token has expired")
	default:
		return nil, refusal(401, codeInvalidToken, "the access token is invalid")
	}
	sid, _ := parseUUID(c.SessionID) // Verify accepted only canonical UUIDs

	g.mu.RLock()
	revoked := g.revoked.has(sid)
	vouch := g.currentLocked(now) &&
		c.ExpiresAt.Sub(c.IssuedAt) <= g.ttl &&
		c.IssuedAt.After(g.revoked.floor.Add(token.MaxLeeway))
	g.mu.RUnlock()

	if revoked {
		g.logger.LogAttrs(ctx, slog.LevelWarn, "token of a revoked session refused", slog.Bool("audit", true),
			slog.String("session_id", c.SessionID), slog.String("user_id", c.Subject))
		return nil, refusal(401, codeSessionRevoked, "the session has been signed out")
	}
	if vouch {
		return c, nil
	}
	if g.cfg.Fallback == Introspect {
		return g.introspect(ctx, raw, c)
	}
	return nil, unavailable("guard is not up to date with latch's revocations; try again shortly")
}
