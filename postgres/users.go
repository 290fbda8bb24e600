package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
)

// CreateUser implements latch.Store.
func (s *Store) CreateUser(ctx context.Context, u *latch.User) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO users (id, email, email_key, password_hash, created_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.Email, u.EmailKey(), u.PasswordHash, ts(u.CreatedAt), nullTS(u.DisabledAt))
	return wrap("create user", err)
}

const userCols = `id, email, password_hash, created_at, disabled_at`

func scanUser(row pgx.Row) (*latch.User, error) {
	var (
		u        latch.User
		disabled *time.Time
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.CreatedAt, &disabled); err != nil {
		return nil, err
	}
	u.CreatedAt, u.DisabledAt = u.CreatedAt.UTC(), fromNullTS(disabled)
	return &u, nil
}

// UserByEmail implements latch.Store.
func (s *Store) UserByEmail(ctx context.Context, emailKey string) (*latch.User, error) {
	if hasNUL(emailKey) {
		return nil, notFound("user by email")
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email_key = $1`, emailKey))
	if err != nil {
		return nil, wrap("user by email", err)
	}
	return u, nil
}

// UserByID implements latch.Store.
func (s *Store) UserByID(ctx context.Context, id latch.UserID) (*latch.User, error) {
	if hasNUL(string(id)) {
		return nil, notFound("user")
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("user "+string(id), err)
	}
	return u, nil
}

// ListUsers implements latch.Store: oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]*latch.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap("list users", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*latch.User, error) { return scanUser(r) })
	return us, wrap("list users", err)
}

// SetPasswordHash implements latch.Store.
func (s *Store) SetPasswordHash(ctx context.Context, id latch.UserID, hash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, hash)
	if err != nil {
		return wrap("set password hash", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("set password hash")
	}
	return nil
}

// ChangePassword implements latch.Store: the new hash and the revocation of
// every other live session commit together.
func (s *Store) ChangePassword(ctx context.Context, id latch.UserID, hash string, keep latch.SessionID, now time.Time) ([]latch.Revocation, error) {
	var revs []latch.Revocation
	err := s.revokeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return latch.ErrNotFound
		}
		revs, err = endSessions(ctx, tx, `user_id = $3 AND id <> $4 AND expires_at > $1`,
			[]any{id, keep}, latch.ReasonPasswordChange, now)
		return err
	})
	if err != nil {
		return nil, wrap("change password", err)
	}
	return revs, nil
}

// SetUserDisabled implements latch.Store. Disabling keeps the first
// disabled time and revokes every live session in the same transaction.
func (s *Store) SetUserDisabled(ctx context.Context, id latch.UserID, disabled bool, now time.Time) ([]latch.Revocation, error) {
	if !disabled {
		tag, err := s.pool.Exec(ctx, `UPDATE users SET disabled_at = NULL WHERE id = $1`, id)
		if err != nil {
			return nil, wrap("enable user", err)
		}
		if tag.RowsAffected() == 0 {
			return nil, notFound("enable user")
		}
		return nil, nil
	}
	var revs []latch.Revocation
	err := s.revokeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET disabled_at = coalesce(disabled_at, $2) WHERE id = $1`, id, ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return latch.ErrNotFound
		}
		revs, err = endSessions(ctx, tx, `user_id = $3 AND expires_at > $1`, []any{id}, latch.ReasonUserDisabled, now)
		return err
	})
	if err != nil {
		return nil, wrap("disable user", err)
	}
	return revs, nil
}
