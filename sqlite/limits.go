package sqlite

import (
	"context"
	"database/sql"
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
	err := s.w.QueryRowContext(ctx, `INSERT INTO limits (key, tat) VALUES (?1, ?2 + ?3)
		ON CONFLICT (key) DO UPDATE SET tat = max(limits.tat, ?2) + ?3
		WHERE max(limits.tat, ?2) + ?3 <= ?2 + ?4
		RETURNING tat`, key[:], ms(now), cost.Milliseconds(), window.Milliseconds()).Scan(&tat)
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
	if _, err := s.w.ExecContext(ctx, `DELETE FROM limits WHERE key = ?`, key[:]); err != nil {
		return fmt.Errorf("sqlite: reset limit: %w", err)
	}
	return nil
}

func (s *Store) PruneLimits(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM limits WHERE tat < ?`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune limits: %w", err)
	}
	return res.RowsAffected()
}
