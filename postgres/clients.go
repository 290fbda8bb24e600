package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
)

var (
	_ latch.ClientStore     = (*Store)(nil)
	_ latch.RevocationIndex = (*Store)(nil)
)

func (s *Store) CreateClient(ctx context.Context, c *latch.Client) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (name, secret_hash, created_at) VALUES ($1, $2, $3)`,
		c.Name, c.SecretHash[:], c.CreatedAt)
	if err != nil {
		return wrap("create client "+c.Name, err)
	}
	return nil
}

func scanClient(row pgx.Row) (*latch.Client, error) {
	var (
		c    latch.Client
		hash []byte
	)
	if err := row.Scan(&c.Name, &hash, &c.CreatedAt); err != nil {
		return nil, err
	}
	if len(hash) != len(c.SecretHash) {
		return nil, errors.New("stored secret hash has the wrong length")
	}
	copy(c.SecretHash[:], hash)
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}

func (s *Store) ClientByName(ctx context.Context, name string) (*latch.Client, error) {
	if hasNUL(name) {
		return nil, notFound("client")
	}
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT name, secret_hash, created_at FROM clients WHERE name = $1`, name))
	if err != nil {
		return nil, wrap("client "+name, err)
	}
	return c, nil
}

func (s *Store) ListClients(ctx context.Context) ([]*latch.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, secret_hash, created_at FROM clients ORDER BY name`)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	defer rows.Close()
	var list []*latch.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, wrap("list clients", err)
		}
		list = append(list, c)
	}
	return list, wrap("list clients", rows.Err())
}

func (s *Store) DeleteClient(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM clients WHERE name = $1`, name)
	if err != nil {
		return wrap("delete client "+name, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete client " + name)
	}
	return nil
}

func (s *Store) RevocationReplayStart(ctx context.Context, since time.Time) (int64, error) {
	var after int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(
		(SELECT min(seq) - 1 FROM revocations WHERE at >= $1),
		(SELECT max(seq) FROM revocations),
		0)`, since).Scan(&after)
	if err != nil {
		return 0, wrap("revocation replay start", err)
	}
	return after, nil
}
