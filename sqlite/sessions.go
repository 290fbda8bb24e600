package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch"
)

func (s *Store) CreateSession(ctx context.Context, ss *latch.Session) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions
			(id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, generation, refresh_hash, prev_refresh_hash, rotated_at, revoked_at, revoke_reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
			ss.ID, ss.UserID, ms(ss.CreatedAt), ms(ss.LastSeenAt), ms(ss.ExpiresAt), ss.IP, ss.UserAgent,
			int64(ss.Generation), ss.RefreshHash[:], nullHash(ss.PrevRefreshHash), nullMS(ss.RotatedAt))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: create session: %w", latch.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

func nullHash(h latch.TokenHash) []byte {
	if h == (latch.TokenHash{}) {
		return nil
	}
	return h[:]
}

const sessionCols = `s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent,
	s.generation, s.refresh_hash, s.prev_refresh_hash, s.rotated_at, s.revoked_at, s.revoke_reason,
	u.disabled_at IS NOT NULL`

func scanSession(row interface{ Scan(...any) error }) (*latch.Session, error) {
	var (
		ss                          latch.Session
		created, seen, expires, gen int64
		rotated, revoked            sql.NullInt64
		reason                      sql.NullString
		cur, prev                   []byte
	)
	err := row.Scan(&ss.ID, &ss.UserID, &created, &seen, &expires, &ss.IP, &ss.UserAgent,
		&gen, &cur, &prev, &rotated, &revoked, &reason, &ss.UserDisabled)
	if err != nil {
		return nil, err
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	ss.Generation = uint64(gen)
	copy(ss.RefreshHash[:], cur)
	copy(ss.PrevRefreshHash[:], prev)
	ss.RotatedAt, ss.RevokedAt = fromNullMS(rotated), fromNullMS(revoked)
	ss.RevokeReason = latch.RevokeReason(reason.String)
	return &ss, nil
}

func (s *Store) Session(ctx context.Context, id latch.SessionID) (*latch.Session, error) {
	ss, err := scanSession(s.r.QueryRowContext(ctx,
		`SELECT `+sessionCols+` FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = latch.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: session %s: %w", id, err)
	}
	return ss, nil
}

// maxListedSessions bounds a listing: a user who logged in thousands of
// times still gets a page that loads.
const maxListedSessions = 500

func (s *Store) SessionsByUser(ctx context.Context, id latch.UserID, endedSince time.Time) ([]*latch.Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = ? AND (s.revoked_at IS NULL OR s.revoked_at >= ?)
		ORDER BY s.created_at DESC, s.id LIMIT ?`, id, ms(endedSince), maxListedSessions)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sessions of %s: %w", id, err)
	}
	defer rows.Close()
	var list []*latch.Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: sessions of %s: %w", id, err)
		}
		list = append(list, ss)
	}
	return list, rows.Err()
}

func (s *Store) RotateRefresh(ctx context.Context, id latch.SessionID, from uint64, next latch.TokenHash, now time.Time) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions
			SET generation = generation + 1, prev_refresh_hash = refresh_hash, refresh_hash = ?, rotated_at = ?, last_seen_at = ?
			WHERE id = ? AND generation = ? AND revoked_at IS NULL`,
			next[:], ms(now), ms(now), id, int64(from))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: rotate refresh %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: rotate refresh %s: %w", id, latch.ErrConflict)
	}
	return nil
}

func (s *Store) TouchSession(ctx context.Context, id latch.SessionID, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?`, ms(at), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: touch session %s: %w", id, err)
	}
	return nil
}

func (s *Store) RevokeSession(ctx context.Context, id latch.SessionID, reason latch.RevokeReason, now time.Time) (*latch.Revocation, error) {
	var rev *latch.Revocation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			uid     latch.UserID
			revoked sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT user_id, revoked_at FROM sessions WHERE id = ?`, id).Scan(&uid, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return latch.ErrNotFound
		}
		if err != nil || revoked.Valid {
			return err
		}
		rev, err = revoke(ctx, tx, id, uid, reason, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: revoke session %s: %w", id, err)
	}
	return rev, nil
}

func (s *Store) RevokeUserSessions(ctx context.Context, id latch.UserID, except latch.SessionID, reason latch.RevokeReason, now time.Time) ([]latch.Revocation, error) {
	var revs []latch.Revocation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		revs, err = revokeUser(ctx, tx, id, except, reason, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: revoke sessions of %s: %w", id, err)
	}
	return revs, nil
}

// revokeUser ends every live, unexpired session of a user except one.
func revokeUser(ctx context.Context, tx *sql.Tx, uid latch.UserID, except latch.SessionID, reason latch.RevokeReason, now time.Time) ([]latch.Revocation, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM sessions WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?`,
		uid, except, ms(now))
	if err != nil {
		return nil, err
	}
	var ids []latch.SessionID
	for rows.Next() {
		var id latch.SessionID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	revs := make([]latch.Revocation, 0, len(ids))
	for _, id := range ids {
		r, err := revoke(ctx, tx, id, uid, reason, now)
		if err != nil {
			return nil, err
		}
		revs = append(revs, *r)
	}
	return revs, nil
}

// revoke marks one live session revoked and appends its revocation event.
func revoke(ctx context.Context, tx *sql.Tx, id latch.SessionID, uid latch.UserID, reason latch.RevokeReason, now time.Time) (*latch.Revocation, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		ms(now), string(reason), id); err != nil {
		return nil, err
	}
	r := &latch.Revocation{SessionID: id, UserID: uid, Reason: reason, At: fromMS(ms(now))}
	err := tx.QueryRowContext(ctx, `INSERT INTO revocations (session_id, user_id, reason, at) VALUES (?, ?, ?, ?) RETURNING seq`,
		id, uid, string(reason), ms(now)).Scan(&r.Seq)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Store) RevocationsAfter(ctx context.Context, after int64, limit int) ([]latch.Revocation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, session_id, user_id, reason, at FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: revocations: %w", err)
	}
	defer rows.Close()
	var revs []latch.Revocation
	for rows.Next() {
		var (
			r  latch.Revocation
			at int64
		)
		if err := rows.Scan(&r.Seq, &r.SessionID, &r.UserID, &r.Reason, &at); err != nil {
			return nil, fmt.Errorf("sqlite: revocations: %w", err)
		}
		r.At = fromMS(at)
		revs = append(revs, r)
	}
	return revs, rows.Err()
}

func (s *Store) RevocationHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM revocations`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: revocation head: %w", err)
	}
	return seq, nil
}

// CountLiveSessions counts sessions that are neither revoked nor expired at
// now and, when seenSince is set, were used since then. It scans the
// sessions table on a reader connection (writers are not blocked): the
// active-sessions gauge calls it once a minute, not per request.
func (s *Store) CountLiveSessions(ctx context.Context, now, seenSince time.Time) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sessions
		WHERE revoked_at IS NULL AND expires_at > ? AND last_seen_at >= ?`, ms(now), ms(seenSince)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count live sessions: %w", err)
	}
	return n, nil
}
