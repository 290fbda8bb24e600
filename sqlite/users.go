package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchauth/latch"
)

func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func (s *Store) CreateUser(ctx context.Context, u *latch.User) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, email, email_key, password_hash, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.EmailKey(), u.PasswordHash, ms(u.CreatedAt), nullMS(u.DisabledAt))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: create user: %w", latch.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

const userCols = `id, email, password_hash, created_at, disabled_at`

func scanUser(row interface{ Scan(...any) error }) (*latch.User, error) {
	var (
		u        latch.User
		created  int64
		disabled sql.NullInt64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &created, &disabled); err != nil {
		return nil, err
	}
	u.CreatedAt, u.DisabledAt = fromMS(created), fromNullMS(disabled)
	return &u, nil
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (*latch.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, latch.ErrNotFound
	}
	return u, err
}

func (s *Store) UserByEmail(ctx context.Context, emailKey string) (*latch.User, error) {
	u, err := s.userWhere(ctx, `email_key = ?`, emailKey)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user by email: %w", err)
	}
	return u, nil
}

func (s *Store) UserByID(ctx context.Context, id latch.UserID) (*latch.User, error) {
	u, err := s.userWhere(ctx, `id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user %s: %w", id, err)
	}
	return u, nil
}

func (s *Store) ListUsers(ctx context.Context) ([]*latch.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var us []*latch.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

func (s *Store) SetPasswordHash(ctx context.Context, id latch.UserID, hash string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "set password hash")
	})
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

func (s *Store) ChangePassword(ctx context.Context, id latch.UserID, hash string, keep latch.SessionID, now time.Time) ([]latch.Revocation, error) {
	var revs []latch.Revocation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "change password"); err != nil {
			return err
		}
		revs, err = revokeUser(ctx, tx, id, keep, latch.ReasonPasswordChange, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: change password: %w", err)
	}
	return revs, nil
}

func (s *Store) SetUserDisabled(ctx context.Context, id latch.UserID, disabled bool, now time.Time) ([]latch.Revocation, error) {
	var revs []latch.Revocation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := sql.NullInt64{}
		if disabled {
			at = nullMS(now)
		}
		// Keep the original time if already disabled.
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = CASE WHEN ? IS NULL THEN NULL ELSE coalesce(disabled_at, ?) END WHERE id = ?`, at, at, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "set user disabled"); err != nil {
			return err
		}
		if disabled {
			revs, err = revokeUser(ctx, tx, id, "", latch.ReasonUserDisabled, now)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: set user disabled: %w", err)
	}
	return revs, nil
}

func mustAffect(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, latch.ErrNotFound)
	}
	return nil
}
