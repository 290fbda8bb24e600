package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
)

// Channel is the LISTEN/NOTIFY channel that announces revocations. The
// payload is the newest Seq of the committing transaction.
const Channel = "latch_revocations"

// revocationLock is the transaction-scoped advisory lock every revocation
// writer takes before anything else ("latchrev" in ASCII). Sequence values
// are handed out at insert time but become visible at commit; without the
// lock, seq 8 could commit before seq 7, a follower that read 8 would ask
// for "after 8" and never see 7. Holding one lock from before the insert
// until commit makes seq order and visibility order the same. Revocations
// are rare (logout, not every request), so the serialisation costs little.
// Taking it first in every revoking transaction keeps one lock order (the
// advisory lock, then user and session rows), so it cannot deadlock.
const revocationLock int64 = 0x6c61746368726576

// revokeTx runs fn in a transaction that holds the revocation lock.
func (s *Store) revokeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, readCommitted, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, revocationLock); err != nil {
			return err
		}
		return fn(tx)
	})
}

// endSessions revokes the live sessions matching cond, appends one event per
// session and queues the notification, all in tx: the notice goes out when
// the transaction commits and never for one that rolls back. In cond, $1 is
// now and $3 onwards are args.
func endSessions(ctx context.Context, tx pgx.Tx, cond string, args []any, reason latch.RevokeReason, now time.Time) ([]latch.Revocation, error) {
	rows, err := tx.Query(ctx, `WITH ended AS (
			UPDATE sessions SET revoked_at = $1, revoke_reason = $2
			WHERE revoked_at IS NULL AND `+cond+`
			RETURNING id, user_id, created_at
		)
		INSERT INTO revocations (session_id, user_id, reason, at)
		SELECT id, user_id, $2, $1 FROM ended ORDER BY created_at, id
		RETURNING seq, session_id, user_id, reason, at`,
		append([]any{ts(now), string(reason)}, args...)...)
	if err != nil {
		return nil, err
	}
	revs, err := pgx.CollectRows(rows, scanRevocation)
	if err != nil || len(revs) == 0 {
		return nil, err
	}
	slices.SortFunc(revs, func(a, b latch.Revocation) int { return cmp.Compare(a.Seq, b.Seq) })
	last := strconv.FormatInt(revs[len(revs)-1].Seq, 10)
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, last); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return revs, nil
}

func scanRevocation(row pgx.CollectableRow) (latch.Revocation, error) {
	var r latch.Revocation
	err := row.Scan(&r.Seq, &r.SessionID, &r.UserID, &r.Reason, &r.At)
	r.At = r.At.UTC()
	return r, err
}

// RevocationsAfter implements latch.Store: oldest first.
func (s *Store) RevocationsAfter(ctx context.Context, after int64, limit int) ([]latch.Revocation, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, session_id, user_id, reason, at FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("revocations", err)
	}
	revs, err := pgx.CollectRows(rows, scanRevocation)
	if err != nil {
		return nil, wrap("revocations", err)
	}
	return revs, nil
}

// RevocationHead returns the highest committed revocation seq. Revocations
// commit in seq order (see the advisory lock above), so every event up to
// the head is visible once the head is.
func (s *Store) RevocationHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM revocations`).Scan(&seq); err != nil {
		return 0, wrap("revocation head", err)
	}
	return seq, nil
}
