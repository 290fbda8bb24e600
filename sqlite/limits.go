package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch"
)

var _ latch.LimitStore = (*Store)(nil)

// ChargeLimit applies the GCRA step of latch.LimitStore in one statement:
// the upsert's WHERE refuses the update when the limit is exhausted, and
// then no row comes back.
func (s *Store) ChargeLimit(ctx context.Context, key latch.LimitKey, now time.Time, cost, window time.Duration) (time.Time, bool, error) {
	var tat int64
	err := s.lightly(ctx, func(c *sql.Conn) error {
		return c.QueryRowContext(ctx, `INSERT INTO limits (key, tat) VALUES (?1, ?2 + ?3)
			ON CONFLICT (key) DO UPDATE SET tat = max(limits.tat, ?2) + ?3
			WHERE max(limits.tat, ?2) + ?3 <= ?2 + ?4
			RETURNING tat`, key[:], ms(now), cost.Milliseconds(), window.Milliseconds()).Scan(&tat)
	})
	if errors.Is(err, sql.ErrNoRows) {
		t, err := s.LimitTime(ctx, key)
		return t, false, err
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: charge limit: %w", err)
	}
	return fromMS(tat), true, nil
}

func (s *Store) LimitTime(ctx context.Context, key latch.LimitKey) (time.Time, error) {
	var tat int64
	err := s.r.QueryRowContext(ctx, `SELECT tat FROM limits WHERE key = ?`, key[:]).Scan(&tat)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: read limit: %w", err)
	}
	return fromMS(tat), nil
}

func (s *Store) ResetLimit(ctx context.Context, key latch.LimitKey) error {
	err := s.lightly(ctx, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, `DELETE FROM limits WHERE key = ?`, key[:])
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: reset limit: %w", err)
	}
	return nil
}

func (s *Store) PruneLimits(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.lightly(ctx, func(c *sql.Conn) error {
		res, err := c.ExecContext(ctx, `DELETE FROM limits WHERE tat < ?`, ms(before))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune limits: %w", err)
	}
	return n, nil
}

// lightly runs fn on the writer connection with synchronous=NORMAL. In WAL
// mode the commit then reaches the operating system at once (a killed
// process loses nothing) and the disk with the next FULL commit or
// checkpoint: a power cut can forget the newest counter updates, which is
// harmless for limits and saves a refresh or sign-in one fsync. Sessions,
// revocations and everything else stay synchronous=FULL: the setting is
// restored before the connection serves anyone else, and a connection on
// which restoring fails is discarded, never reused.
func (s *Store) lightly(ctx context.Context, fn func(*sql.Conn) error) error {
	db, err := s.w.use()
	if err != nil {
		return err
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		c.Raw(func(any) error { return driver.ErrBadConn })
		return err
	}
	ferr := fn(c)
	if _, err := c.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); err != nil {
		c.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(ferr, err)
	}
	return ferr
}
