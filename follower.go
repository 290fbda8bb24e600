package latch

import (
	"context"
	"errors"
	"sync"
	"time"
)

// FollowerConfig tunes how the service learns of revocations made by other
// processes (the admin CLI) and other nodes.
type FollowerConfig struct {
	// PollInterval is how often the store is read for new revocations when
	// it cannot push them (SQLite), and how often a pushing store is read
	// anyway as a safety net. Defaults: 25ms without push, 1s with push.
	PollInterval time.Duration
	// ReadTimeout bounds one catch-up read. A read that takes longer counts
	// as a failure: the cache is distrusted and the read retried, so a hung
	// connection can neither keep a stale cache in use nor keep the node
	// off its cache forever. Default 1s.
	ReadTimeout time.Duration
}

const revocationPage = 1000

// FollowRevocations keeps the session cache honest across processes and
// nodes; run it for the life of the server. It reads revocation events in
// order and drops each revoked session from the cache. The cache is trusted
// only while this follower is caught up: before the first catch-up, and
// from the moment it loses its push connection or a read fails until it has
// caught up again, every request reads the store (fail closed, never
// stale-open). Between a notice's arrival and the end of the read it
// triggers, the cache is not used either, so a slow read widens nothing.
// docs/operations.md states the resulting bound. It returns when ctx ends.
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
	f := &follower{s: s, last: head, readTimeout: cmpOr(cfg.ReadTimeout, time.Second)}
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
	s           *Service
	last        int64
	readTimeout time.Duration

	// mu orders trust changes: the listener's end (which distrusts) and a
	// successful catch-up (which trusts only while listening) never
	// interleave, so a catch-up that finishes after the listener died
	// cannot turn trust back on.
	mu        sync.Mutex
	listening bool
}

// distrust stops serving from the cache at once and forgets it: entries
// may have missed revocations while nobody was listening.
func (f *follower) distrust(why string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.distrustLocked(why, err)
}

func (f *follower) distrustLocked(why string, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		f.s.counters.storeErrors.Add(1)
	}
	if f.s.cacheTrusted.Swap(false) {
		f.s.logger().Warn("revocation follower lost track; reading the database on every request until caught up", "why", why, "err", err)
	}
	f.s.sessions.invalidateAll()
}

// setListening records whether the push connection is up; when it goes
// down, trust ends in the same step.
func (f *follower) setListening(up bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listening = up
	if !up {
		f.distrustLocked("notification connection ended", err)
	}
}

// catchUp applies every revocation after f.last.
func (f *follower) catchUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, f.readTimeout)
	defer cancel()
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

// trust puts the cache back in use after a catch-up that began once heard
// notifications had arrived: all of them are applied.
func (f *follower) trust(heard uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.listening {
		return
	}
	f.s.applied.Store(heard)
	if !f.s.cacheTrusted.Swap(true) {
		f.s.logger().Info("revocation follower caught up; session cache in use")
	}
}

// poll reads the store every interval: for stores without push (SQLite, where
// the only other writers are admin commands on the same machine).
func (f *follower) poll(ctx context.Context, every time.Duration) {
	f.setListening(true, nil) // nothing to lose: every read is a full catch-up
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		heard := f.s.heard.Load()
		if err := f.catchUp(ctx); err != nil {
			f.distrust("read revocations", err)
		} else {
			f.trust(heard)
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
// the listener returns (even while a catch-up is still running, which is
// then abandoned) or a read fails.
func (f *follower) listen(ctx context.Context, l RevocationListener, every time.Duration) {
	const minBackoff = 50 * time.Millisecond
	backoff := minBackoff
	for ctx.Err() == nil {
		wake := make(chan struct{}, 1)
		up := make(chan struct{}, 1)
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		var wasUp bool
		go func() {
			defer close(done)
			err := l.ListenRevocations(lctx,
				func() {
					wasUp = true
					f.setListening(true, nil)
					signal(up)
				},
				func() {
					// From now until a catch-up that starts after this
					// has finished, the cache is not used (authenticate.go).
					f.s.heard.Add(1)
					signal(wake)
				})
			f.setListening(false, err)
			cancel()
		}()
		f.serve(lctx, up, wake, every)
		<-done
		if ctx.Err() != nil {
			return
		}
		if wasUp {
			backoff = minBackoff // it worked for a while: reconnect promptly
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// serve catches up after each notification, on the safety-net tick, and
// once when the listener comes up, until ctx ends (the listener is gone).
func (f *follower) serve(ctx context.Context, up, wake chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	listening := false
	for {
		select {
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
		heard := f.s.heard.Load()
		if err := f.catchUp(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.distrust("read revocations", err)
			continue
		}
		f.trust(heard)
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
