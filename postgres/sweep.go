package postgres

import (
	"context"

	"github.com/latchauth/latch"
)

var _ latch.Sweeper = (*Store)(nil)

func (s *Store) Sweep(ctx context.Context, c latch.SweepCutoffs) (latch.SweepResult, error) {
	var res latch.SweepResult
	steps := []struct {
		n     *int64
		query string
		args  []any
	}{
		{&res.Sessions, `DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < $1)
			OR (revoked_at IS NULL AND expires_at < $1) OR (revoked_at IS NULL AND $2::timestamptz IS NOT NULL AND last_seen_at < $2)`,
			[]any{ts(c.SessionsEndedBefore), nullTS(c.IdleBefore)}},
		// The newest event stays, so the feed's head never goes backwards.
		{&res.Revocations, `DELETE FROM revocations WHERE at < $1 AND seq < (SELECT max(seq) FROM revocations)`, []any{ts(c.RevocationsBefore)}},
	}
	if !c.AuditBefore.IsZero() {
		steps = append(steps, struct {
			n     *int64
			query string
			args  []any
		}{&res.AuditEvents, `DELETE FROM audit_events WHERE at < $1`, []any{ts(c.AuditBefore)}})
	}
	for _, st := range steps {
		tag, err := s.pool.Exec(ctx, st.query, st.args...)
		if err != nil {
			return res, wrap("sweep", err)
		}
		*st.n = tag.RowsAffected()
	}
	return res, nil
}
