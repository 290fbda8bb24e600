package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchauth/latch"
)

func (s *Store) AppendAudit(ctx context.Context, e *latch.AuditEvent) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit_events (at, type, user_id, session_id, email, ip, user_agent, outcome, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			ms(e.At), string(e.Type), e.UserID, e.SessionID, e.Email, e.IP, e.UserAgent, e.Outcome, e.Detail).Scan(&e.ID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	return nil
}

func (s *Store) AuditEvents(ctx context.Context, q latch.AuditQuery) ([]*latch.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	if q.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, q.UserID)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, ms(q.Since))
	}
	query := `SELECT id, at, type, user_id, session_id, email, ip, user_agent, outcome, detail FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit events: %w", err)
	}
	defer rows.Close()
	var evs []*latch.AuditEvent
	for rows.Next() {
		var (
			e  latch.AuditEvent
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Type, &e.UserID, &e.SessionID, &e.Email, &e.IP, &e.UserAgent, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: audit events: %w", err)
		}
		e.At = fromMS(at)
		evs = append(evs, &e)
	}
	return evs, rows.Err()
}

func (s *Store) SigningKeys(ctx context.Context) ([]*latch.StoredKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, algorithm, public_key, sealed_key, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	defer rows.Close()
	var ks []*latch.StoredKey
	for rows.Next() {
		var (
			k       latch.StoredKey
			created int64
			retired sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.SealedKey, &created, &retired); err != nil {
			return nil, fmt.Errorf("sqlite: signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = fromMS(created), fromNullMS(retired)
		ks = append(ks, &k)
	}
	return ks, rows.Err()
}

func (s *Store) AddSigningKey(ctx context.Context, k *latch.StoredKey) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, algorithm, public_key, sealed_key, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Algorithm, k.PublicKey, k.SealedKey, ms(k.CreatedAt), nullMS(k.RetiredAt))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: add signing key: %w", latch.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: add signing key: %w", err)
	}
	return nil
}

func (s *Store) SetSigningKeyRetired(ctx context.Context, id string, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = coalesce(retired_at, ?) WHERE id = ?`, ms(at), id)
		if err != nil {
			return err
		}
		return mustAffect(res, "retire signing key")
	})
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlite: meta %s: %w", key, latch.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: meta %s: %w", key, err)
	}
	return v, nil
}

func (s *Store) SetMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	var v string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: set meta %s: %w", key, err)
	}
	return v, nil
}
