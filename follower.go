package latch

import (
	"context"
	"errors"
	"time"
)

// FollowerConfig tunes how the service learns of revocations made by other
// processes (the admin CLI) and other nodes.
type FollowerConfig struct {
	// PollInterval is how often the store is read for new revocations when
	// it cannot push them (SQLite), and how often a pushing store is read
	// anyway as a safety net. Defaults: 25ms without push, 1s with push.
	PollInterval time.Duration
}

const revocationPage = 1000

// FollowRevocations keeps the session cache honest across processes and
// nodes; run it for the life of the server. It reads revocation events in
// order and drops each revoked session from the cache. The cache is trusted
// only while this follower is caught up: before the first catch-up, and
// from the moment it loses its push connection or a read fails until it has
// caught up again, every request reads the store (fail closed, never
// stale-open). It returns when ctx ends.
func (s *Service) FollowRevocations(ctx context.Context, cfg FollowerConfig) error {
	if s.sessions == nil {
		<-ctx.Done()
		return nil
	}
	head, err := s.store.RevocationHead(ctx)
	for err != nil {
		s.counters.storeErrors.Add(1)
		s.logger().Warn("revocation follower: read head", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		head, err = s.store.RevocationHead(ctx)
	}
	f := &follower{s: s, last: head}
	if l, ok := s.store.(RevocationListener); ok {
		f.listen(ctx, l, cmpOr(cfg.PollInterval, time.Second))
	} else {
		f.poll(ctx, cmpOr(cfg.PollInterval, 25*time.Millisecond))
	}
	return nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

type follower struct {
	s    *Service
	last int64
}

// distrust stops serving from the cache at once and forgets it: entries
// may have missed revocations while nobody was listening.
func (f *follower) distrust(why string, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		f.s.counters.storeErrors.Add(1)
	}
	if f.s.cacheTrusted.Swap(false) {
		f.s.logger().Warn("revocation follower lost track; reading the database on every request until caught up", "why", why, "err", err)
	}
	f.s.sessions.invalidateAll()
}

// catchUp applies every revocation after f.last.
func (f *follower) catchUp(ctx context.Context) error {
	for {
		revs, err := f.s.store.RevocationsAfter(ctx, f.last, revocationPage)
		if err != nil {
			return err
		}
		for _, r := range revs {
			f.s.sessions.invalidate(r.SessionID)
			f.last = r.Seq
		}
		if len(revs) > 0 {
			f.s.revHub.wake()
		}
		if len(revs) < revocationPage {
			return nil
		}
	}
}

func (f *follower) trust() {
	if !f.s.cacheTrusted.Swap(true) {
		f.s.logger().Info("revocation follower caught up; session cache in use")
	}
}

// poll reads the store every interval: for stores without push (SQLite, where
// the only other writers are admin commands on the same machine).
func (f *follower) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := f.catchUp(ctx); err != nil {
			f.distrust("read revocations", err)
		} else {
			f.trust()
		}
		select {
		case <-ctx.Done():
			f.s.cacheTrusted.Store(false)
			return
		case <-t.C:
		}
	}
}

// listen follows a pushing store. Trust starts only once the listener is up
// and everything committed before that has been read; it ends the moment
// the listener returns or a safety-net read fails.
func (f *follower) listen(ctx context.Context, l RevocationListener, every time.Duration) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		wake := make(chan struct{}, 1)
		up := make(chan struct{}, 1)
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- l.ListenRevocations(lctx,
				func() { signal(up) },
				func() { signal(wake) })
		}()
		f.serve(lctx, done, up, wake, every)
		cancel()
		err := <-done
		f.distrust("notification connection ended", err)
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// serve handles one listener connection until it ends.
func (f *follower) serve(ctx context.Context, done chan error, up, wake chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	listening := false
	for {
		select {
		case err := <-done:
			done <- err // let listen read it
			return
		case <-ctx.Done():
			return
		case <-up:
			listening = true
		case <-wake:
		case <-t.C:
		}
		if !listening {
			continue
		}
		if err := f.catchUp(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			f.distrust("read revocations", err)
			continue
		}
		f.trust()
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// CacheTrusted reports whether the session cache is in use: the follower is
// running and caught up. Metrics and readiness report it.
func (s *Service) CacheTrusted() bool { return s.cacheTrusted.Load() }
