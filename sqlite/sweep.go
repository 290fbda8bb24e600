package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchauth/latch"
)

var _ latch.Sweeper = (*Store)(nil)

func (s *Store) Sweep(ctx context.Context, c latch.SweepCutoffs) (latch.SweepResult, error) {
	var res latch.SweepResult
	idle := sql.NullInt64{}
	if !c.IdleBefore.IsZero() {
		idle = nullMS(c.IdleBefore)
	}
	steps := []struct {
		n     *int64
		query string
		args  []any
	}{
		{&res.Sessions, `DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < ?1)
			OR (revoked_at IS NULL AND expires_at < ?1) OR (revoked_at IS NULL AND ?2 IS NOT NULL AND last_seen_at < ?2)`,
			[]any{ms(c.SessionsEndedBefore), idle}},
		{&res.Revocations, `DELETE FROM revocations WHERE at < ? AND seq < (SELECT max(seq) FROM revocations)`, []any{ms(c.RevocationsBefore)}},
	}
	if !c.AuditBefore.IsZero() {
		steps = append(steps, struct {
			n     *int64
			query string
			args  []any
		}{&res.AuditEvents, `DELETE FROM audit_events WHERE at < ?`, []any{ms(c.AuditBefore)}})
	}
	// One transaction per table keeps each write short.
	for _, st := range steps {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			r, err := tx.ExecContext(ctx, st.query, st.args...)
			if err != nil {
				return err
			}
			*st.n, err = r.RowsAffected()
			return err
		})
		if err != nil {
			return res, fmt.Errorf("sqlite: sweep: %w", err)
		}
	}
	return res, nil
}
