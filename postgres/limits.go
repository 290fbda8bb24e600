package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
)

var _ latch.LimitStore = (*Store)(nil)

// ChargeLimit applies the GCRA step in one statement. Under READ COMMITTED,
// ON CONFLICT DO UPDATE re-checks its WHERE against the latest locked row,
// so two nodes cannot both take the last slot of a limit.
func (s *Store) ChargeLimit(ctx context.Context, key latch.LimitKey, now time.Time, cost, window time.Duration) (time.Time, bool, error) {
	nowMS, costMS, windowMS := now.UnixMilli(), cost.Milliseconds(), window.Milliseconds()
	var tat int64
	err := s.pool.QueryRow(ctx, `INSERT INTO limits AS l (key, tat) VALUES ($1, $2::bigint + $3::bigint)
		ON CONFLICT (key) DO UPDATE SET tat = GREATEST(l.tat, $2::bigint) + $3::bigint
		WHERE GREATEST(l.tat, $2::bigint) + $3::bigint <= $2::bigint + $4::bigint
		RETURNING tat`, key[:], nowMS, costMS, windowMS).Scan(&tat)
	if err == nil {
		return time.UnixMilli(tat), true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, wrap("charge limit", err)
	}
	// Refused: report the stored time (when the limit has room again).
	stored, err := s.LimitTime(ctx, key)
	if err != nil {
		return time.Time{}, false, err
	}
	return stored, false, nil
}

func (s *Store) LimitTime(ctx context.Context, key latch.LimitKey) (time.Time, error) {
	var tat int64
	err := s.pool.QueryRow(ctx, `SELECT tat FROM limits WHERE key = $1`, key[:]).Scan(&tat)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap("limit time", err)
	}
	return time.UnixMilli(tat), nil
}

func (s *Store) ResetLimit(ctx context.Context, key latch.LimitKey) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM limits WHERE key = $1`, key[:]); err != nil {
		return wrap("reset limit", err)
	}
	return nil
}

func (s *Store) PruneLimits(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM limits WHERE tat < $1`, t.UnixMilli())
	if err != nil {
		return 0, wrap("prune limits", err)
	}
	return tag.RowsAffected(), nil
}
