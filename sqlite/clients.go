package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch"
)

var (
	_ latch.ClientStore     = (*Store)(nil)
	_ latch.RevocationIndex = (*Store)(nil)
)

func (s *Store) CreateClient(ctx context.Context, c *latch.Client) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (name, secret_hash, created_at) VALUES (?, ?, ?)`,
			c.Name, c.SecretHash[:], ms(c.CreatedAt))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: create client %s: %w", c.Name, latch.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create client %s: %w", c.Name, err)
	}
	return nil
}

func scanClient(row interface{ Scan(...any) error }) (*latch.Client, error) {
	var (
		c       latch.Client
		hash    []byte
		created int64
	)
	if err := row.Scan(&c.Name, &hash, &created); err != nil {
		return nil, err
	}
	if len(hash) != len(c.SecretHash) {
		return nil, errors.New("stored secret hash has the wrong length")
	}
	copy(c.SecretHash[:], hash)
	c.CreatedAt = fromMS(created)
	return &c, nil
}

func (s *Store) ClientByName(ctx context.Context, name string) (*latch.Client, error) {
	c, err := scanClient(s.r.QueryRowContext(ctx, `SELECT name, secret_hash, created_at FROM clients WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		err = latch.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: client %s: %w", name, err)
	}
	return c, nil
}

func (s *Store) ListClients(ctx context.Context) ([]*latch.Client, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, secret_hash, created_at FROM clients ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	defer rows.Close()
	var list []*latch.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list clients: %w", err)
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

func (s *Store) DeleteClient(ctx context.Context, name string) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE name = ?`, name)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete client %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: delete client %s: %w", name, latch.ErrNotFound)
	}
	return nil
}

func (s *Store) RevocationReplayStart(ctx context.Context, since time.Time) (int64, error) {
	var after int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(
		(SELECT min(seq) - 1 FROM revocations WHERE at >= ?),
		(SELECT max(seq) FROM revocations),
		0)`, ms(since)).Scan(&after)
	if err != nil {
		return 0, fmt.Errorf("sqlite: revocation replay start: %w", err)
	}
	return after, nil
}
