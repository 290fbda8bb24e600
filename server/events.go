package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/latchauth/latch"
)

// Revocation feed tuning. A stream reads the store when woken by a
// revocation this process (or the store's listener) saw, and otherwise every
// feedPoll, so revocations made by another process on the same SQLite file
// (the CLI) arrive within a second too.
const (
	defaultHeartbeat  = 15 * time.Second
	minHeartbeat      = 250 * time.Millisecond
	maxHeartbeat      = 60 * time.Second
	feedPoll          = time.Second
	feedBatch         = 256
	feedWriteTimeout  = 10 * time.Second
	clientRecheck     = 10 * time.Second
	defaultMaxStreams = 64
	// maxStreamsPerClient keeps one client (or one leaked secret) from
	// taking every slot and cutting the other services off the feed. A
	// service needs one stream per process; a few for rolling restarts.
	maxStreamsPerClient = 8
)

// events streams revocations as Server-Sent Events; docs/api.md describes
// the format. Every heartbeat follows a store read that found nothing
// newer, so a receiver that heard one at T has every revocation committed
// before T (give or take one poll for other processes).
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	lastID, resume, err := lastEventID(r)
	if err != nil {
		return err
	}
	heartbeat, err := heartbeatOf(r)
	if err != nil {
		return err
	}
	if !s.takeClientStream(c.Name) {
		return &latch.Error{Kind: latch.KindRateLimited, Code: latch.CodeRateLimited, Message: "this client has too many event streams open", RetryAfter: 5}
	}
	defer s.releaseClientStream(c.Name)
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeBusy, Message: "too many event streams are open; retry shortly", RetryAfter: 5}
	}
	select {
	case <-s.stopping:
		return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeUnavailable, Message: "the server is shutting down", RetryAfter: 1}
	default:
	}
	// Subscribe before the first read, so no wake-up falls in between.
	wake, cancel := s.latch.SubscribeRevocations()
	defer cancel()
	start, err := s.latch.StartFeed(r.Context(), lastID, resume)
	if err != nil {
		return err
	}

	rc := http.NewResponseController(w)
	// A stream outlives the server's read and write timeouts; each write
	// gets its own deadline instead, so a stalled reader is cut off.
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("events: clear read deadline: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	st := &stream{w: bufio.NewWriter(w), rc: rc, pos: start.After}
	st.printf("retry: 1000\n\n")
	period := min(heartbeat, feedPoll)
	tick := time.NewTicker(period)
	defer tick.Stop()
	synced, lastWrite, lastCheck := false, time.Now(), time.Now()
	for {
		n, err := s.sendBacklog(r, st, c)
		if err != nil {
			s.logger.Warn("event stream ended: store unavailable", "client", c.Name, "err", err)
			return nil // the receiver reconnects with Last-Event-ID
		}
		if !synced {
			st.sync(start, s.latch.Policy.AccessTTL)
			synced, n = true, n+1
		}
		// Half a tick of slack: ticks are not exact, and a heartbeat that
		// just missed one would otherwise wait a whole period more.
		if n == 0 && time.Since(lastWrite)+period/2 >= heartbeat {
			st.printf(": heartbeat\n\n")
			n = 1
		}
		if n > 0 {
			if err := st.flush(); err != nil {
				return nil // the receiver went away
			}
			lastWrite = time.Now()
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-s.stopping:
			return nil
		case <-wake:
		case <-tick.C:
			if time.Since(lastCheck) >= clientRecheck {
				lastCheck = time.Now()
				if s.latch.ClientActive(r.Context(), c) != nil {
					return nil
				}
			}
		}
	}
}

// sendBacklog writes every revocation after the stream's position and
// returns how many it wrote.
func (s *Server) sendBacklog(r *http.Request, st *stream, c *latch.Client) (int, error) {
	n := 0
	for {
		evs, err := s.latch.FeedEvents(r.Context(), c, st.pos, feedBatch)
		if err != nil {
			return n, err
		}
		for _, ev := range evs {
			st.printf("id: %d\nevent: session-revoked\ndata: %s\n\n", ev.Seq, ev.SET)
			st.pos = ev.Seq
		}
		n += len(evs)
		if len(evs) < feedBatch {
			return n, nil
		}
		if err := st.flush(); err != nil {
			return n, err
		}
	}
}

// stream writes one SSE response.
type stream struct {
	w   *bufio.Writer
	rc  *http.ResponseController
	pos int64
}

func (st *stream) printf(format string, args ...any) { fmt.Fprintf(st.w, format, args...) }

func (st *stream) flush() error {
	if err := st.rc.SetWriteDeadline(time.Now().Add(feedWriteTimeout)); err != nil {
		return err
	}
	if err := st.w.Flush(); err != nil {
		return err
	}
	return st.rc.Flush()
}

// syncData is the body of the one "sync" event each stream sends once it
// has caught up with the store.
type syncData struct {
	Seq            int64  `json:"seq"`
	AccessTokenTTL int64  `json:"access_token_ttl"`
	Since          *int64 `json:"since,omitempty"`
}

func (st *stream) sync(start latch.FeedStart, ttl time.Duration) {
	d := syncData{Seq: st.pos, AccessTokenTTL: int64(ttl / time.Second)}
	if !start.Since.IsZero() {
		since := start.Since.Unix()
		d.Since = &since
	}
	b, _ := json.Marshal(d)
	st.printf("id: %d\nevent: sync\ndata: %s\n\n", st.pos, b)
}

// lastEventID reads the SSE Last-Event-ID header: a decimal Seq.
func lastEventID(r *http.Request) (int64, bool, error) {
	vals := r.Header.Values("Last-Event-ID")
	if len(vals) == 0 {
		return 0, false, nil
	}
	if len(vals) > 1 || !isDigits(vals[0]) || len(vals[0]) > 18 {
		return 0, false, badRequest("invalid_request", "Last-Event-ID must be one event id, as the feed sent it")
	}
	id, _ := strconv.ParseInt(vals[0], 10, 64)
	return id, true, nil
}

// heartbeatOf reads ?heartbeat_ms, the receiver's heartbeat interval.
func heartbeatOf(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("heartbeat_ms")
	if v == "" {
		return defaultHeartbeat, nil
	}
	ms, err := strconv.Atoi(v)
	d := time.Duration(ms) * time.Millisecond
	if err != nil || !isDigits(v) || d < minHeartbeat || d > maxHeartbeat {
		return 0, &httpError{status: http.StatusBadRequest, code: "invalid_request", field: "heartbeat_ms",
			message: "heartbeat_ms must be an integer from 250 to 60000"}
	}
	return d, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// EndStreams ends every open event stream and refuses new ones. Call it
// when shutting down (http.Server.RegisterOnShutdown): Shutdown waits for
// handlers, and a stream's handler would otherwise never return. Receivers
// reconnect, with Last-Event-ID, to another node or to this one restarted.
func (s *Server) EndStreams() { s.stopOnce.Do(func() { close(s.stopping) }) }

// takeClientStream counts a stream against its client's cap.
func (s *Server) takeClientStream(name string) bool {
	s.clientStreamsMu.Lock()
	defer s.clientStreamsMu.Unlock()
	if s.clientStreams == nil {
		s.clientStreams = make(map[string]int)
	}
	if s.clientStreams[name] >= maxStreamsPerClient {
		return false
	}
	s.clientStreams[name]++
	return true
}

func (s *Server) releaseClientStream(name string) {
	s.clientStreamsMu.Lock()
	defer s.clientStreamsMu.Unlock()
	if s.clientStreams[name]--; s.clientStreams[name] <= 0 {
		delete(s.clientStreams, name)
	}
}
