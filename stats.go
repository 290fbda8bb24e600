package latch

import (
	"context"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what a Service has done since it started, for
// monitoring. Counters only go up. The service keeps them in atomics: a
// request pays an atomic add, never a lock, a map lookup or an allocation.
// cmd/latch exports them to Prometheus; this package imports no metrics
// library.
type Stats struct {
	LoginsOK     uint64 // logins that started a session
	LoginsFailed uint64 // wrong email or password, or a disabled account
	Refreshes    uint64 // refresh tokens rotated (grace-window repeats excluded)
	// ReuseDetections counts stale refresh tokens presented: each revoked
	// its session as suspected theft.
	ReuseDetections uint64
	// Revocations counts sessions this service ended, by reason. Sessions
	// ended by other processes (the admin CLI, other nodes) are counted
	// there, so summing over nodes counts each revocation once.
	Revocations map[RevokeReason]uint64
	// Session-cache lookups on the per-request path: served from the cache,
	// read from the store because the entry was missing or stale, or read
	// from the store because the cache is not trusted (follower not caught
	// up) or disabled.
	CacheHits, CacheMisses, CacheBypasses uint64
	// CacheTrusted reports whether the session cache is in use (the
	// revocation follower is caught up).
	CacheTrusted bool
	// StoreErrors counts store operations that failed: on requests (which
	// were refused) and in the background (last-seen updates, audit writes,
	// the revocation follower).
	StoreErrors uint64
}

// revokeReasons are the reasons counted one by one; anything else is
// counted as "other". Reasons are append-only, like the constants.
var revokeReasons = []RevokeReason{
	ReasonLogout, ReasonLogoutOthers, ReasonLogoutAll, ReasonPasswordChange, ReasonRefreshReuse,
	ReasonAdmin, ReasonUserDisabled, ReasonTokenRevocation,
}

// RevokeReasonOther labels revocations with a reason Stats does not know.
const RevokeReasonOther RevokeReason = "other"

// RevokeReasons returns every reason Stats.Revocations reports, so an
// exporter can publish each series from the start at zero.
func RevokeReasons() []RevokeReason {
	return append(append([]RevokeReason(nil), revokeReasons...), RevokeReasonOther)
}

// paddedCounter sits alone on its cache line: the per-request counters are
// written by every core, and must not drag unrelated fields along.
type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

type counters struct {
	cacheHits, cacheMisses, cacheBypasses paddedCounter

	loginsOK, loginsFailed, refreshes, reuse, storeErrors atomic.Uint64
	revoked                                               [9]atomic.Uint64 // revokeReasons, then other
}

func (c *counters) revocation(r RevokeReason) {
	for i, known := range revokeReasons {
		if r == known {
			c.revoked[i].Add(1)
			return
		}
	}
	c.revoked[len(revokeReasons)].Add(1)
}

// Stats returns a snapshot of the service's counters.
func (s *Service) Stats() Stats {
	c := &s.counters
	st := Stats{
		LoginsOK: c.loginsOK.Load(), LoginsFailed: c.loginsFailed.Load(), Refreshes: c.refreshes.Load(),
		ReuseDetections: c.reuse.Load(), StoreErrors: c.storeErrors.Load(),
		CacheHits: c.cacheHits.Load(), CacheMisses: c.cacheMisses.Load(), CacheBypasses: c.cacheBypasses.Load(),
		CacheTrusted: s.CacheTrusted(),
		Revocations:  make(map[RevokeReason]uint64, len(revokeReasons)+1),
	}
	for i, r := range RevokeReasons() {
		st.Revocations[r] = c.revoked[i].Load()
	}
	return st
}

// unavailable counts a failed store operation and refuses the request.
func (s *Service) unavailable(err error) *Error {
	s.counters.storeErrors.Add(1)
	return unavailable(err)
}

// SessionCounter is implemented by stores that can count live sessions.
type SessionCounter interface {
	// CountLiveSessions counts sessions that are not revoked, not expired at
	// now, and (when seenSince is not zero) used at or after seenSince.
	CountLiveSessions(ctx context.Context, now, seenSince time.Time) (int64, error)
}

// ActiveSessions counts the sessions that are live now under the service's
// policy. It is one query over the sessions table: call it periodically,
// not per request. ok is false when the store cannot count.
func (s *Service) ActiveSessions(ctx context.Context) (n int64, ok bool, err error) {
	sc, ok := s.store.(SessionCounter)
	if !ok {
		return 0, false, nil
	}
	now := s.now()
	var seenSince time.Time
	if s.Policy.IdleTimeout > 0 {
		seenSince = now.Add(-s.Policy.IdleTimeout)
	}
	n, err = sc.CountLiveSessions(ctx, now, seenSince)
	if err != nil {
		s.counters.storeErrors.Add(1)
		return 0, true, err
	}
	return n, true, nil
}
