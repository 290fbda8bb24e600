package latch

import (
	"testing"
	"time"
)

// The session cache only moves a session forward, whatever order writers
// arrive in: a revocation is never replaced by an older live row, and a
// generation never goes back.
func TestSessionCacheOnlyMovesForward(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	live := Session{ID: "s1", Generation: 3}
	revoked := live
	revoked.RevokedAt, revoked.RevokeReason = now, ReasonLogout
	rotated := live
	rotated.Generation = 4

	tests := []struct {
		name  string
		first Session
		write func(c *sessionCache, epoch uint64)
		want  func(Session) bool
	}{
		{"older live read after a revoked read", revoked,
			func(c *sessionCache, epoch uint64) { c.put(&cachedSession{sess: live, loadedAt: now}, epoch) },
			isRevoked},
		{"older generation after a newer one", rotated,
			func(c *sessionCache, epoch uint64) { c.put(&cachedSession{sess: live, loadedAt: now}, epoch) },
			func(s Session) bool { return s.Generation == 4 }},
		{"rotation update after a revoked read", revoked,
			func(c *sessionCache, epoch uint64) {
				c.update("s1", func(e *cachedSession) { e.sess = rotated })
			},
			isRevoked},
		{"newer generation replaces an older one", live,
			func(c *sessionCache, epoch uint64) { c.put(&cachedSession{sess: rotated, loadedAt: now}, epoch) },
			func(s Session) bool { return s.Generation == 4 }},
		{"revocation replaces a live row", live,
			func(c *sessionCache, epoch uint64) { c.put(&cachedSession{sess: revoked, loadedAt: now}, epoch) },
			isRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newSessionCache(100, 10*time.Second)
			_, epoch, _ := c.get("s1", now)
			c.put(&cachedSession{sess: tt.first, loadedAt: now}, epoch)
			tt.write(c, epoch)
			e, _, ok := c.get("s1", now)
			if !ok || !tt.want(e.sess) {
				t.Fatalf("cached after the write: %+v (present %v)", e.sess, ok)
			}
		})
	}
}

func isRevoked(s Session) bool { return s.Revoked() }
