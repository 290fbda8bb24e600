package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
)

// CreateSession implements latch.Store. The session is stored live,
// whatever its RevokedAt says: sessions end only through a revoke method.
func (s *Store) CreateSession(ctx context.Context, ss *latch.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions
		(id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, generation, refresh_hash, prev_refresh_hash, rotated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ss.ID, ss.UserID, ts(ss.CreatedAt), ts(ss.LastSeenAt), ts(ss.ExpiresAt), ss.IP, ss.UserAgent,
		int64(ss.Generation), ss.RefreshHash[:], nullHash(ss.PrevRefreshHash), nullTS(ss.RotatedAt))
	return wrap("create session", err)
}

func nullHash(h latch.TokenHash) []byte {
	if h == (latch.TokenHash{}) {
		return nil
	}
	return h[:]
}

// sessionCols joins the user so one read answers every per-request question.
const sessionCols = `s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent,
	s.generation, s.refresh_hash, s.prev_refresh_hash, s.rotated_at, s.revoked_at, s.revoke_reason,
	u.disabled_at IS NOT NULL`

func scanSession(row pgx.Row) (*latch.Session, error) {
	var (
		ss               latch.Session
		gen              int64
		rotated, revoked *time.Time
		reason           *string
		cur, prev        []byte
	)
	err := row.Scan(&ss.ID, &ss.UserID, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt, &ss.IP, &ss.UserAgent,
		&gen, &cur, &prev, &rotated, &revoked, &reason, &ss.UserDisabled)
	if err != nil {
		return nil, err
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.LastSeenAt.UTC(), ss.ExpiresAt.UTC()
	ss.Generation = uint64(gen)
	copy(ss.RefreshHash[:], cur)
	copy(ss.PrevRefreshHash[:], prev)
	ss.RotatedAt, ss.RevokedAt = fromNullTS(rotated), fromNullTS(revoked)
	if reason != nil {
		ss.RevokeReason = latch.RevokeReason(*reason)
	}
	return &ss, nil
}

// Session implements latch.Store.
func (s *Store) Session(ctx context.Context, id latch.SessionID) (*latch.Session, error) {
	if hasNUL(string(id)) {
		return nil, notFound("session")
	}
	ss, err := scanSession(s.pool.QueryRow(ctx,
		`SELECT `+sessionCols+` FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`, id))
	if err != nil {
		return nil, wrap("session "+string(id), err)
	}
	return ss, nil
}

// maxListedSessions bounds a listing: a user who logged in thousands of
// times still gets a page that loads.
const maxListedSessions = 500

// SessionsByUser implements latch.Store: newest first.
func (s *Store) SessionsByUser(ctx context.Context, id latch.UserID, endedSince time.Time) ([]*latch.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = $1 AND (s.revoked_at IS NULL OR s.revoked_at >= $2)
		ORDER BY s.created_at DESC, s.id LIMIT $3`, id, ts(endedSince), maxListedSessions)
	if err != nil {
		return nil, wrap("sessions of "+string(id), err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*latch.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, wrap("sessions of "+string(id), err)
	}
	return list, nil
}

// RotateRefresh implements latch.Store as one compare-and-swap UPDATE. Under
// READ COMMITTED a contender that waited on the winner's row lock re-checks
// the WHERE clause against the winner's row, finds the generation moved (or
// the session revoked) and matches nothing.
func (s *Store) RotateRefresh(ctx context.Context, id latch.SessionID, from uint64, next latch.TokenHash, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions
		SET generation = generation + 1, prev_refresh_hash = refresh_hash, refresh_hash = $3, rotated_at = $4, last_seen_at = $4
		WHERE id = $1 AND generation = $2 AND revoked_at IS NULL`,
		id, int64(from), next[:], ts(now))
	if err != nil {
		return wrap("rotate refresh "+string(id), err)
	}
	if tag.RowsAffected() == 0 {
		return wrap("rotate refresh "+string(id), latch.ErrConflict)
	}
	return nil
}

// TouchSession implements latch.Store. Last-seen never moves backwards, and
// a touch that changes nothing writes nothing.
func (s *Store) TouchSession(ctx context.Context, id latch.SessionID, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, id, ts(at))
	return wrap("touch session "+string(id), err)
}

// RevokeSession implements latch.Store.
func (s *Store) RevokeSession(ctx context.Context, id latch.SessionID, reason latch.RevokeReason, now time.Time) (*latch.Revocation, error) {
	if hasNUL(string(id)) {
		return nil, notFound("revoke session")
	}
	var rev *latch.Revocation
	err := s.revokeTx(ctx, func(tx pgx.Tx) error {
		revs, err := endSessions(ctx, tx, `id = $3`, []any{id}, reason, now)
		if err != nil {
			return err
		}
		if len(revs) == 1 {
			rev = &revs[0]
			return nil
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return latch.ErrNotFound
		}
		return nil // already ended
	})
	if err != nil {
		return nil, wrap("revoke session "+string(id), err)
	}
	return rev, nil
}

// RevokeUserSessions implements latch.Store: live, unexpired sessions only.
func (s *Store) RevokeUserSessions(ctx context.Context, id latch.UserID, except latch.SessionID, reason latch.RevokeReason, now time.Time) ([]latch.Revocation, error) {
	var revs []latch.Revocation
	err := s.revokeTx(ctx, func(tx pgx.Tx) error {
		var err error
		revs, err = endSessions(ctx, tx, `user_id = $3 AND id <> $4 AND expires_at > $1`, []any{id, except}, reason, now)
		return err
	})
	if err != nil {
		return nil, wrap("revoke sessions of "+string(id), err)
	}
	return revs, nil
}

// CountLiveSessions counts sessions that are neither revoked nor expired at
// now and, when seenSince is set, were used since then. One sequential scan:
// the active-sessions gauge calls it once a minute, not per request.
func (s *Store) CountLiveSessions(ctx context.Context, now, seenSince time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sessions
		WHERE revoked_at IS NULL AND expires_at > $1 AND last_seen_at >= $2`, ts(now), ts(seenSince)).Scan(&n)
	if err != nil {
		return 0, wrap("count live sessions", err)
	}
	return n, nil
}
