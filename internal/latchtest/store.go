package latchtest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/latchauth/latch"
)

// CountingStore wraps a real store to count session reads (proving a path
// did or did not touch the database) and to make revocation reads fail on
// demand (a lost connection, for fail-closed tests).
type CountingStore struct {
	latch.Store
	SessionReads    atomic.Int64
	FailRevocations atomic.Bool
}

// ErrInjected is what CountingStore returns when told to fail.
var ErrInjected = errors.New("latchtest: injected store failure")

func (c *CountingStore) Session(ctx context.Context, id latch.SessionID) (*latch.Session, error) {
	c.SessionReads.Add(1)
	return c.Store.Session(ctx, id)
}

func (c *CountingStore) RevocationsAfter(ctx context.Context, after int64, limit int) ([]latch.Revocation, error) {
	if c.FailRevocations.Load() {
		return nil, ErrInjected
	}
	return c.Store.RevocationsAfter(ctx, after, limit)
}
