package latch_test

import (
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/token"
)

func TestFeedReplayWindowAndResume(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	c, _ := addClient(t, env, "notes")
	signup(t, env, "feed@example.com")
	old := login(t, env, "feed@example.com", phone)
	logout(t, env, old)
	env.Clock.Advance(env.Service.FeedWindow() + time.Second) // old's tokens are all expired now
	recent := login(t, env, "feed@example.com", laptop)
	logout(t, env, recent)

	start, err := env.Service.StartFeed(t.Context(), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if start.Since.IsZero() || start.After != 1 {
		t.Fatalf("StartFeed(new receiver) = %+v, want After 1 and the window's start", start)
	}
	evs, err := env.Service.FeedEvents(t.Context(), c, start.After, 100)
	if err != nil || len(evs) != 1 || evs[0].Seq != 2 {
		t.Fatalf("FeedEvents after the window start = %v, %v; want only seq 2", evs, err)
	}
	v := &token.SETVerifier{Issuer: env.Service.Issuer(), Audience: "notes", Keys: env.Service.KeySet()}
	ev, err := v.VerifySessionRevoked(evs[0].SET)
	if err != nil {
		t.Fatal(err)
	}
	if ev.SessionID != string(recent.Session.ID) || ev.UserID != string(recent.User.ID) || ev.Reason != "logout" ||
		ev.InitiatingEntity != "user" || !ev.EventTime.Equal(env.Clock.Now().Truncate(time.Second)) {
		t.Errorf("event = %+v", ev)
	}

	// Resuming is exact, however old the id.
	for _, tt := range []struct {
		last int64
		want int
	}{{0, 2}, {1, 1}, {2, 0}} {
		start, _ := env.Service.StartFeed(t.Context(), tt.last, true)
		evs, _ := env.Service.FeedEvents(t.Context(), c, start.After, 100)
		if len(evs) != tt.want || !start.Since.IsZero() {
			t.Errorf("resume after %d: %d events (start %+v), want %d", tt.last, len(evs), start, tt.want)
		}
	}

	// Nothing in the window: the feed starts at the newest event.
	env.Clock.Advance(env.Service.FeedWindow() + time.Second)
	start, _ = env.Service.StartFeed(t.Context(), 0, false)
	if start.After != 2 {
		t.Errorf("StartFeed with an empty window = %+v, want After 2", start)
	}
}

func logout(t *testing.T, env *latchtest.Env, g *latch.Grant) {
	t.Helper()
	if err := env.Service.Logout(t.Context(), mustAuth(t, env, g.AccessToken), latch.ScopeCurrent, laptop); err != nil {
		t.Fatal(err)
	}
}

func TestFeedReasonMapping(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	c, _ := addClient(t, env, "notes")
	signup(t, env, "map@example.com")
	g := login(t, env, "map@example.com", phone)
	if err := env.Service.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := env.Service.FeedEvents(t.Context(), c, 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	v := &token.SETVerifier{Issuer: env.Service.Issuer(), Audience: "notes", Keys: env.Service.KeySet()}
	ev, err := v.VerifySessionRevoked(evs[0].SET)
	if err != nil || ev.InitiatingEntity != "admin" || ev.Reason != "admin" || ev.ReasonUser == "" {
		t.Fatalf("admin revocation event = %+v, %v", ev, err)
	}
}
