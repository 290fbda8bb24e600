package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/latchauth/latch/token"
)

// Reconnection backoff after the feed fails.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Run loads latch's keys and follows the revocation feed until ctx ends,
// reconnecting after failures with Last-Event-ID. It returns ctx's error.
// Until Run has caught up with the feed once, guard vouches for nothing.
func (g *Guard) Run(ctx context.Context) error {
	go g.keys.keepFresh(ctx, func(err error) { g.logger.Warn("refresh JWKS", "err", err) })
	backoff := minBackoff
	for {
		caughtUp, err := g.follow(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if caughtUp {
			backoff = minBackoff
		}
		g.logger.Warn("revocation feed interrupted; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff + rand.N(backoff/2)):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// heartbeat is the interval guard asks latch for: a few per StaleAfter, so
// a healthy but quiet feed never looks stale.
func (g *Guard) heartbeat() time.Duration {
	return min(max(g.cfg.StaleAfter/4, 250*time.Millisecond), 15*time.Second)
}

// follow runs one connection. caughtUp reports whether it got as far as
// its sync event.
func (g *Guard) follow(ctx context.Context) (caughtUp bool, err error) {
	if !g.keys.loaded() {
		if err := g.keys.refresh(ctx); err != nil {
			return false, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hb := g.heartbeat()
	req, err := http.NewRequestWithContext(ctx, "GET", g.cfg.URL+"/v1/events?heartbeat_ms="+strconv.FormatInt(hb.Milliseconds(), 10), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.SetBasicAuth(urlEscape(g.cfg.ClientID), urlEscape(g.cfg.ClientSecret))
	g.mu.RLock()
	if g.lastID != "" {
		req.Header.Set("Last-Event-ID", g.lastID)
	}
	g.mu.RUnlock()
	resp, err := g.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return false, fmt.Errorf("events: status %d: %s", resp.StatusCode, body)
	}
	// A connection that goes silent for two heartbeats is dead, even if
	// TCP has not noticed.
	idle := max(2*hb, hb+time.Second)
	watchdog := time.AfterFunc(idle, cancel)
	defer watchdog.Stop()

	defer func() {
		g.mu.Lock()
		g.connected = false
		g.mu.Unlock()
	}()
	p := newSSEReader(resp.Body)
	synced := false
	for {
		m, err := p.next()
		if err != nil {
			return synced, err
		}
		watchdog.Reset(idle)
		switch {
		case m.comment:
			// A heartbeat: latch read its store just before.
		case m.event == "session-revoked":
			if err := g.onRevoked(ctx, m); err != nil {
				return synced, err
			}
		case m.event == "sync":
			if err := g.onSync(m); err != nil {
				return synced, err
			}
			synced = true
		}
		if synced {
			g.heard()
		}
	}
}

// onRevoked verifies a session-revoked SET and records the session.
func (g *Guard) onRevoked(ctx context.Context, m sseMessage) error {
	ev, err := g.sets.VerifySessionRevoked(m.data)
	if errors.Is(err, token.ErrUnknownKey) {
		if rerr := g.keys.refresh(ctx); rerr == nil || errors.Is(rerr, errRateLimited) {
			ev, err = g.sets.VerifySessionRevoked(m.data)
		}
	}
	if err != nil {
		// Never skip an event: reconnect from the last good id instead, and
		// let staleness fail closed if this keeps happening.
		g.logger.Error("revocation event failed verification", "id", m.id, "err", err)
		return fmt.Errorf("event %s: %w", m.id, err)
	}
	sid, _ := parseUUID(ev.SessionID)
	now := g.cfg.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revoked.add(sid, ev.EventTime, now, g.keepLocked())
	if m.hasID {
		g.lastID = m.id
	}
	return nil
}

// keepLocked is how long a revoked session stays in the set.
func (g *Guard) keepLocked() time.Duration { return g.ttl + token.MaxLeeway + dropMargin }

// syncEvent is latch's marker at the end of a stream's replay.
type syncEvent struct {
	Seq            *int64 `json:"seq"`
	AccessTokenTTL *int64 `json:"access_token_ttl"`
	Since          *int64 `json:"since"`
}

func (g *Guard) onSync(m sseMessage) error {
	var s syncEvent
	if err := json.Unmarshal([]byte(m.data), &s); err != nil || s.Seq == nil || s.AccessTokenTTL == nil || *s.AccessTokenTTL <= 0 {
		return fmt.Errorf("malformed sync event")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lastID != "" && s.Since == nil {
		if last, err := strconv.ParseInt(g.lastID, 10, 64); err == nil && *s.Seq < last {
			// latch's history is behind what guard saw (a restored
			// database?): start over with a fresh replay.
			g.lastID = ""
			return errors.New("the feed went backwards; replaying afresh")
		}
	}
	g.ttl = time.Duration(*s.AccessTokenTTL) * time.Second
	if s.Since != nil {
		g.revoked.raiseFloor(time.Unix(*s.Since, 0))
	}
	g.lastID = strconv.FormatInt(*s.Seq, 10)
	if !g.synced {
		g.logger.Info("caught up with latch's revocation feed", "seq", *s.Seq)
	}
	g.synced, g.connected = true, true
	return nil
}

// heard records that a caught-up feed is alive now.
func (g *Guard) heard() {
	now := g.cfg.Now()
	g.mu.Lock()
	if now.After(g.lastHeard) {
		g.lastHeard = now
	}
	g.mu.Unlock()
}

func timeOf(unix int64) time.Time {
	if unix == 0 {
		return time.Time{}
	}
	return time.Unix(unix, 0)
}
