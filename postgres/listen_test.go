package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/postgres"
)

// listener runs ListenRevocations in the background and records what it
// reports.
type listener struct {
	up    chan struct{}
	wakes chan struct{}
	done  chan error
}

func listen(t *testing.T, ctx context.Context, st *postgres.Store) *listener {
	t.Helper()
	l := &listener{up: make(chan struct{}), wakes: make(chan struct{}, 100), done: make(chan error, 1)}
	go func() {
		l.done <- st.ListenRevocations(ctx,
			func() { close(l.up) },
			func() { l.wakes <- struct{}{} })
	}()
	select {
	case <-l.up:
	case err := <-l.done:
		t.Fatalf("ListenRevocations = %v before it was listening", err)
	case <-time.After(10 * time.Second):
		t.Fatal("ListenRevocations did not call up within 10s")
	}
	return l
}

// ended waits for ListenRevocations to return.
func (l *listener) ended(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-l.done:
		return err
	case <-time.After(within):
		t.Fatalf("ListenRevocations still running %v after its connection was lost", within)
		return nil
	}
}

// newSession stores a live session of uid, or of a new user if uid is "".
func newSession(t *testing.T, st latch.Store, uid latch.UserID) *latch.Session {
	t.Helper()
	if uid == "" {
		u := &latch.User{ID: latch.UserID(uuid.NewString()), Email: uuid.NewString() + "@example.com", PasswordHash: "x", CreatedAt: time.Now()}
		if err := st.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		uid = u.ID
	}
	s := &latch.Session{ID: latch.SessionID(uuid.NewString()), UserID: uid, CreatedAt: time.Now(), LastSeenAt: time.Now(),
		ExpiresAt: time.Now().Add(time.Hour), RefreshHash: latch.HashSecret([]byte(uuid.NewString()))}
	if err := st.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestListenRevocations: a revocation committed through another node's
// store wakes the listener; a session that was already ended does not.
func TestListenRevocations(t *testing.T) {
	t.Parallel()
	node1, url := open(t, postgres.Options{})
	node2, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer node2.Close()
	l := listen(t, t.Context(), node1)

	s := newSession(t, node2, "")
	for _, revoke := range []func() error{
		func() error {
			_, err := node2.RevokeSession(t.Context(), s.ID, latch.ReasonLogout, time.Now())
			return err
		},
		func() error {
			_, err := node2.SetUserDisabled(t.Context(), newSession(t, node2, "").UserID, true, time.Now())
			return err
		},
	} {
		if err := revoke(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-l.wakes:
		case err := <-l.done:
			t.Fatalf("ListenRevocations = %v, want it to keep listening", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no wake within 10s of a committed revocation")
		}
	}
}

// TestNotifyPayload reads the channel on a plain connection: each revoking
// commit sends its newest seq, and a revoke that ended nothing sends nothing
// (notifications arrive in commit order, so an extra one would come first).
func TestNotifyPayload(t *testing.T) {
	t.Parallel()
	st, url := open(t, postgres.Options{})
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `LISTEN `+postgres.Channel); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, st, "")
	if _, err := st.RevokeSession(t.Context(), s.ID, latch.ReasonLogout, time.Now()); err != nil {
		t.Fatal(err)
	}
	if rev, err := st.RevokeSession(t.Context(), s.ID, latch.ReasonLogout, time.Now()); rev != nil || err != nil {
		t.Fatalf("RevokeSession again = %v, %v; want nil, nil", rev, err)
	}
	u := newSession(t, st, "").UserID
	newSession(t, st, u)
	revs, err := st.RevokeUserSessions(t.Context(), u, "", latch.ReasonLogoutAll, time.Now())
	if err != nil || len(revs) != 2 {
		t.Fatalf("RevokeUserSessions = %v, %v; want 2", revs, err)
	}
	all, err := st.RevocationsAfter(t.Context(), 0, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("RevocationsAfter = %v, %v; want 3", all, err)
	}
	for _, want := range []int64{all[0].Seq, all[2].Seq} { // one notice per commit, with its newest seq
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		if err != nil {
			t.Fatalf("WaitForNotification = %v", err)
		}
		if n.Payload != strconv.FormatInt(want, 10) {
			t.Errorf("notification payload %q, want %d", n.Payload, want)
		}
	}
}

// TestListenRevocationsTerminated kills the notification connection on the
// server side, as a failover or an operator would: the call must return an
// error, not keep a node believing it is informed.
func TestListenRevocationsTerminated(t *testing.T) {
	t.Parallel()
	st, url := open(t, postgres.Options{})
	l := listen(t, t.Context(), st)
	admin, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var n int
	err = admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, postgres.ListenerApplicationName).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate listener backend: %d terminated, %v; want 1", n, err)
	}
	err = l.ended(t, 10*time.Second)
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("ListenRevocations after pg_terminate_backend = %v, want a connection error", err)
	}
}

// TestListenRevocationsCancel: ending the context ends the call with the
// context's error.
func TestListenRevocationsCancel(t *testing.T) {
	t.Parallel()
	st, _ := open(t, postgres.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	l := listen(t, ctx, st)
	cancel()
	if err := l.ended(t, 10*time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("ListenRevocations after cancel = %v, want context.Canceled", err)
	}
}

// TestListenRevocationsSilentLink freezes a TCP link between the listener
// and PostgreSQL (bytes stop, nothing closes: a network partition). The
// heartbeat must notice within about two heartbeats.
func TestListenRevocationsSilentLink(t *testing.T) {
	t.Parallel()
	_, dbURL := open(t, postgres.Options{})
	p := newFreezingProxy(t, dbURL)
	const hb = 200 * time.Millisecond
	st, err := postgres.Open(t.Context(), p.url, postgres.Options{ListenHeartbeat: hb})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := listen(t, t.Context(), st)
	// Survives several quiet heartbeats while the link works.
	select {
	case err := <-l.done:
		t.Fatalf("ListenRevocations = %v on a working, quiet link", err)
	case <-time.After(5 * hb):
	}
	p.freeze()
	start := time.Now()
	err = l.ended(t, 10*time.Second)
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("ListenRevocations on a frozen link = %v, want a heartbeat error", err)
	}
	if waited := time.Since(start); waited > 2*hb+2*time.Second {
		t.Errorf("frozen link noticed after %v, want about 2 heartbeats (%v)", waited, 2*hb)
	}
}

// freezingProxy forwards 127.0.0.1 TCP to the test server's unix socket
// until frozen, then holds every connection open without moving a byte.
type freezingProxy struct {
	url    string
	frozen chan struct{}
}

func newFreezingProxy(t *testing.T, dbURL string) *freezingProxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	socket := u.Query().Get("host") + "/.s.PGSQL.5432"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &freezingProxy{frozen: make(chan struct{})}
	proxied := *u
	proxied.Host, proxied.RawQuery = ln.Addr().String(), "sslmode=disable"
	p.url = proxied.String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", socket)
			if err != nil {
				c.Close()
				continue
			}
			t.Cleanup(func() { c.Close(); s.Close() })
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	return p
}

// pipe copies until frozen; then it stops reading, so the other side sees
// silence, not a closed connection.
func (p *freezingProxy) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			return
		default:
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *freezingProxy) freeze() { close(p.frozen) }
