package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/sqlite"
	"github.com/latchauth/latch/token"
)

const benchPassword = "bench password 1234"

// seeded is a database prepared offline: users (all with benchPassword)
// and sessions, plus valid access tokens for some of the sessions.
type seeded struct {
	emails []string
	tokens []string
}

// seed creates dir/latch.db and dir/latch.secret with users and sessions,
// and mints access tokens for the first `tokens` sessions with the
// database's own signing key, exactly as the server would.
func seed(ctx context.Context, dir string, users, sessions, tokens int) (*seeded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "latch.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, nil); err != nil {
		return nil, err
	}
	secret, text, err := latch.GenerateSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "latch.secret"), text, 0o600); err != nil {
		return nil, err
	}
	hasher := password.New(password.Options{})
	svc, err := latch.NewService(ctx, st, secret, hasher, latch.Config{Issuer: issuer, Audience: issuer})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	hash, err := hasher.Hash(ctx, benchPassword)
	if err != nil {
		return nil, err
	}

	now := time.Now()
	out := &seeded{}
	userIDs := make([]string, users)
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for i := range users {
		userIDs[i] = uuid.NewString()
		email := fmt.Sprintf("user%d@bench.example", i)
		out.emails = append(out.emails, email)
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			userIDs[i], email, email, hash, now.UnixMilli()); err != nil {
			return nil, err
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, generation, refresh_hash)
		VALUES (?, ?, ?, ?, ?, '127.0.0.1', 'latch-load/1', 0, ?)`)
	if err != nil {
		return nil, err
	}
	signer := svc.KeySet().Signer()
	hashBytes := make([]byte, 32)
	for i := range sessions {
		sid, uid := uuid.NewString(), userIDs[i%users]
		rand.Read(hashBytes)
		if _, err := ins.ExecContext(ctx, sid, uid, now.UnixMilli(), now.UnixMilli(), now.Add(24*time.Hour).UnixMilli(), hashBytes); err != nil {
			return nil, err
		}
		if i < tokens {
			tok, err := token.Sign(signer, &token.Claims{Issuer: issuer, Audience: issuer, Subject: uid, SessionID: sid,
				ID: uuid.NewString(), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
			if err != nil {
				return nil, err
			}
			out.tokens = append(out.tokens, tok)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return out, nil
}
