package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ListenerApplicationName is the application_name of the notification
// connection, so operators (and tests) can find it in pg_stat_activity.
const ListenerApplicationName = "latch-revocations"

// ListenRevocations implements latch.RevocationListener. It opens its own
// connection (a pooled one could be recycled under it), runs LISTEN, calls
// up, and then calls wake for every notification on Channel. When the
// connection has been silent for the heartbeat it runs a query on it; a
// connection that fails or does not answer in time ends the call with an
// error, so a dead link is never mistaken for a quiet one.
func (s *Store) ListenRevocations(ctx context.Context, up func(), wake func()) error {
	connectCtx, cancel := context.WithTimeout(ctx, 10*s.heartbeat+5*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, s.listen.Copy())
	cancel()
	if err != nil {
		return s.listenErr("connect", ctx, err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return s.listenErr("listen", ctx, err)
	}
	up()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, s.heartbeat)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			if n.Channel == Channel {
				wake()
			}
		case ctx.Err() != nil:
			return s.listenErr("wait", ctx, ctx.Err())
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Silent for a heartbeat: prove the connection still works.
			pingCtx, cancel := context.WithTimeout(ctx, s.heartbeat)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return s.listenErr("heartbeat", ctx, err)
			}
		default:
			return s.listenErr("wait", ctx, err)
		}
	}
}

// listenErr reports why listening stopped; the context's own error wins
// when it has ended, so callers can tell a shutdown from a failure.
func (s *Store) listenErr(op string, ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("postgres: listen for revocations: %s: %w", op, err)
}
