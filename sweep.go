package latch

import (
	"context"
	"time"
)

// Sweeper is implemented by stores that can delete what has outlived its
// use. Both of latch's stores implement it.
type Sweeper interface {
	// Sweep deletes, each in its own statement:
	//   - sessions that ended before c.SessionsEndedBefore: revoked before
	//     it, expired before it, or last seen before c.IdleBefore (idle);
	//   - revocation events older than c.RevocationsBefore;
	//   - audit events older than c.AuditBefore (zero: keep them all).
	Sweep(ctx context.Context, c SweepCutoffs) (SweepResult, error)
}

// SweepCutoffs are the times before which records are deleted.
type SweepCutoffs struct {
	SessionsEndedBefore time.Time
	IdleBefore          time.Time // zero: no idle timeout
	RevocationsBefore   time.Time
	AuditBefore         time.Time // zero: keep audit events
}

// SweepResult counts what a sweep deleted.
type SweepResult struct {
	Sessions, Revocations, AuditEvents int64
}

// Retention says how long ended records are kept.
type Retention struct {
	// Sessions: ended sessions stay listed (and kept) this long. It is also
	// how long revocation events are kept, far longer than any access
	// token lives, so a revocation feed receiver that resumes within it
	// misses nothing that still matters.
	Sessions time.Duration
	// Audit: audit events are kept this long; zero keeps them forever.
	Audit time.Duration
}

// DefaultRetention keeps ended sessions 30 days (as long as they are listed)
// and audit events a year.
func DefaultRetention() Retention {
	return Retention{Sessions: historyWindow, Audit: 365 * 24 * time.Hour}
}

// Sweep deletes sessions that ended longer ago than the retention, old
// revocation events and old audit events. Without a Sweeper store it does
// nothing.
func (s *Service) Sweep(ctx context.Context, r Retention) (SweepResult, error) {
	sw, ok := s.store.(Sweeper)
	if !ok {
		return SweepResult{}, nil
	}
	now := s.now()
	keep := max(r.Sessions, historyWindow, s.FeedWindow())
	c := SweepCutoffs{SessionsEndedBefore: now.Add(-keep), RevocationsBefore: now.Add(-keep)}
	if s.Policy.IdleTimeout > 0 {
		c.IdleBefore = now.Add(-keep - s.Policy.IdleTimeout)
	}
	if r.Audit > 0 {
		c.AuditBefore = now.Add(-r.Audit)
	}
	res, err := sw.Sweep(ctx, c)
	if err != nil {
		return res, s.unavailable(err)
	}
	return res, nil
}

// RunSweeper sweeps every interval until ctx ends. Failures are logged and
// retried at the next tick; several nodes sweeping at once is harmless.
func (s *Service) RunSweeper(ctx context.Context, r Retention, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := s.Sweep(ctx, r)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger().Warn("sweep failed", "err", err)
		case res != (SweepResult{}):
			s.logger().Info("swept ended records", "sessions", res.Sessions, "revocations", res.Revocations, "audit_events", res.AuditEvents)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
