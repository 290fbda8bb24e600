package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit. SQLite allows one writer at a time and every commit with
// synchronous=FULL waits for an fsync, so committing each write on its own
// caps throughput at one write per fsync. Instead one goroutine owns the
// write connection and commits whatever writes are waiting together: each
// in its own savepoint (a failing write rolls back alone), all made durable
// by one COMMIT. A caller's write returns only after that COMMIT, so the
// durability promise is unchanged; under load one fsync now carries many
// writes.

const maxBatch = 64

type writeOp struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

// beginner starts transactions: the store's writer pool, which refuses
// while the database file is gone (watch.go).
type beginner interface {
	BeginTx(ctx context.Context, o *sql.TxOptions) (*sql.Tx, error)
}

type writer struct {
	db     beginner
	ops    chan writeOp
	quit   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

// errClosed: writes after Close fail (and callers fail closed).
var errClosed = errors.New("sqlite: store is closed")

func newWriter(db beginner) *writer {
	w := &writer{db: db, ops: make(chan writeOp), quit: make(chan struct{})}
	w.wg.Go(w.loop)
	return w
}

// do runs fn inside a transaction and returns once it is durable (or failed).
func (w *writer) do(ctx context.Context, fn func(*sql.Tx) error) error {
	op := writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.ops <- op:
	case <-w.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, wait for the outcome even if ctx ends: the write
	// may already be committed, and the caller must not guess.
	return <-op.done
}

func (w *writer) close() {
	w.closed.Do(func() { close(w.quit) })
	w.wg.Wait()
}

func (w *writer) loop() {
	batch := make([]writeOp, 0, maxBatch)
	for {
		select {
		case <-w.quit:
			return
		case op := <-w.ops:
			batch = append(batch[:0], op)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		w.commit(batch)
	}
}

// commit runs a batch in one transaction, each op in its own savepoint.
func (w *writer) commit(batch []writeOp) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, op := range batch {
			op.done <- err
		}
	}
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			errs[i] = err // the caller gave up before it ran: skip it
			continue
		}
		if _, err := tx.Exec(`SAVEPOINT op`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		if errs[i] = op.fn(tx); errs[i] != nil {
			if _, err := tx.Exec(`ROLLBACK TO op`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("roll back failed write: %w", err))
				return
			}
		}
		if _, err := tx.Exec(`RELEASE op`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, op := range batch {
		op.done <- errs[i]
	}
}
