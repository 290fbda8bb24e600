package pgtest

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Server is a PostgreSQL server of one test's own, for tests that stop it
// and start it again (an outage, a restart). Most tests want NewDatabase,
// which shares one server per test binary. A Server costs an initdb (a
// second or two); it is stopped and removed when the test ends.
type Server struct {
	mu  sync.Mutex
	srv *server
	up  bool
}

// NewServer starts a server for t alone. It skips or fails like NewDatabase
// when the binaries are missing.
func NewServer(t testing.TB) *Server {
	t.Helper()
	srv, err := start()
	if err != nil {
		if err == errNoBinaries && !Required() {
			t.Skip(err.Error())
		}
		t.Fatal(err)
	}
	s := &Server{srv: srv, up: true}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// NewDatabase creates an empty database on s and returns its URL; the URL
// stays the same across Stop and Start. The database goes with the server.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", dbCount.Add(1))
	pool, err := pgxpool.New(t.Context(), s.srv.url)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer pool.Close()
	if _, err := pool.Exec(t.Context(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return (&urlParts{dir: s.srv.dir, db: name}).String()
}

// Stop shuts the server down the way "pg_ctl stop -m fast" does: every
// connection is ended, and the socket disappears. It returns once the
// postmaster has exited.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up {
		return nil
	}
	s.up = false
	return s.srv.halt(syscall.SIGINT)
}

// Start starts a stopped server again on the same data and socket, and
// returns once it accepts connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up {
		return nil
	}
	if err := s.srv.launch(); err != nil {
		return err
	}
	s.up = true
	return nil
}

// Ping reports whether the server answers, within ctx.
func (s *Server) Ping(ctx context.Context) error {
	pool, err := pgxpool.New(ctx, s.srv.url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return pool.Ping(ctx)
}
