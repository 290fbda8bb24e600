package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
)

// AppendAudit implements latch.Store. Free-text fields that came from a
// request lose NUL bytes (PostgreSQL text cannot hold them), so a hostile
// email can never keep a failed login out of the audit log.
func (s *Store) AppendAudit(ctx context.Context, e *latch.AuditEvent) error {
	err := s.pool.QueryRow(ctx, `INSERT INTO audit_events (at, type, user_id, session_id, email, ip, user_agent, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		ts(e.At), string(e.Type), noNUL(string(e.UserID)), noNUL(string(e.SessionID)), noNUL(e.Email),
		noNUL(e.IP), noNUL(e.UserAgent), noNUL(e.Outcome), noNUL(e.Detail)).Scan(&e.ID)
	return wrap("append audit", err)
}

// AuditEvents implements latch.Store: newest first, at most 1000 without a
// limit.
func (s *Store) AuditEvents(ctx context.Context, q latch.AuditQuery) ([]*latch.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	if q.UserID != "" {
		args = append(args, noNUL(string(q.UserID)))
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	if !q.Since.IsZero() {
		args = append(args, ts(q.Since))
		where = append(where, fmt.Sprintf("at >= $%d", len(args)))
	}
	query := `SELECT id, at, type, user_id, session_id, email, ip, user_agent, outcome, detail FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("audit events", err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*latch.AuditEvent, error) {
		var e latch.AuditEvent
		err := r.Scan(&e.ID, &e.At, &e.Type, &e.UserID, &e.SessionID, &e.Email, &e.IP, &e.UserAgent, &e.Outcome, &e.Detail)
		e.At = e.At.UTC()
		return &e, err
	})
	if err != nil {
		return nil, wrap("audit events", err)
	}
	return evs, nil
}

// SigningKeys implements latch.Store: newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]*latch.StoredKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, algorithm, public_key, sealed_key, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, wrap("signing keys", err)
	}
	ks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*latch.StoredKey, error) {
		var (
			k       latch.StoredKey
			retired *time.Time
		)
		err := r.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.SealedKey, &k.CreatedAt, &retired)
		k.CreatedAt, k.RetiredAt = k.CreatedAt.UTC(), fromNullTS(retired)
		return &k, err
	})
	if err != nil {
		return nil, wrap("signing keys", err)
	}
	return ks, nil
}

// AddSigningKey implements latch.Store.
func (s *Store) AddSigningKey(ctx context.Context, k *latch.StoredKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (id, algorithm, public_key, sealed_key, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Algorithm, k.PublicKey, k.SealedKey, ts(k.CreatedAt), nullTS(k.RetiredAt))
	return wrap("add signing key", err)
}

// SetSigningKeyRetired implements latch.Store; the first time is kept.
func (s *Store) SetSigningKeyRetired(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE signing_keys SET retired_at = coalesce(retired_at, $2) WHERE id = $1`, id, ts(at))
	if err != nil {
		return wrap("retire signing key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("retire signing key " + id)
	}
	return nil
}

// Meta implements latch.Store.
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if err != nil {
		return "", wrap("meta "+key, err)
	}
	return v, nil
}

// SetMetaIfAbsent implements latch.Store. Under READ COMMITTED the insert of
// a racing node waits for the first writer, and the second statement's
// fresh snapshot then reads the winner's value.
func (s *Store) SetMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	var v string
	err := pgx.BeginTxFunc(ctx, s.pool, readCommitted, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	})
	if err != nil {
		return "", wrap("set meta "+key, err)
	}
	return v, nil
}
