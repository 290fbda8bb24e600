package latch

import (
	"context"
	"sync"
	"time"
)

// memLimits is the LimitStore of a store that has none: counters live in
// this process only, so with several nodes each node counts on its own.
type memLimits struct {
	mu sync.Mutex
	m  map[LimitKey]time.Time
}

// maxMemLimits bounds the counters kept in memory; past it, counters that
// have run out are dropped first, then arbitrary ones.
const maxMemLimits = 200_000

func newMemLimits() *memLimits { return &memLimits{m: make(map[LimitKey]time.Time)} }

func (s *memLimits) ChargeLimit(_ context.Context, key LimitKey, now time.Time, cost, window time.Duration) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.m[key]
	t := stored
	if !ok || t.Before(now) {
		t = now
	}
	t = t.Add(cost)
	if t.After(now.Add(window)) {
		return stored, false, nil
	}
	if !ok && len(s.m) >= maxMemLimits {
		s.evict(now)
	}
	s.m[key] = t
	return t, true, nil
}

func (s *memLimits) evict(now time.Time) {
	for k, t := range s.m {
		if t.Before(now) {
			delete(s.m, k)
		}
	}
	for k := range s.m {
		if len(s.m) < maxMemLimits {
			return
		}
		delete(s.m, k)
	}
}

func (s *memLimits) LimitTime(_ context.Context, key LimitKey) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

func (s *memLimits) ResetLimit(_ context.Context, key LimitKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memLimits) PruneLimits(_ context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, t := range s.m {
		if t.Before(before) {
			delete(s.m, k)
			n++
		}
	}
	return n, nil
}
