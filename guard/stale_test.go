package guard_test

import (
	"testing"
	"time"

	"github.com/latchauth/latch/guard"
)

// With the feed down longer than StaleAfter, guard refuses with 503.
func TestGuardFailsClosedWhenStale(t *testing.T) {
	r := newRig(t, guard.Config{StaleAfter: 10 * time.Second}, true)
	g := r.signup("stale@example.com")
	r.latch.EndStreams() // the feed is down; latch itself still answers
	waitFor(t, "guard sees the feed down", func() bool { return !r.guard.Status().Connected })
	r.env.Clock.Advance(9 * time.Second)
	if got := r.call("Bearer " + g.AccessToken); got.status != 200 {
		t.Fatalf("within the bound = %+v", got)
	}
	r.env.Clock.Advance(2 * time.Second)
	got := r.call("Bearer " + g.AccessToken)
	if got.status != 503 || got.code != "unavailable" || got.header.Get("Retry-After") != "1" {
		t.Fatalf("past the bound = %+v, want 503 unavailable", got)
	}
	if r.guard.Status().Current {
		t.Error("Status().Current while stale")
	}
}

// With the Introspect fallback, a stale guard asks latch instead.
func TestGuardIntrospectsWhenStale(t *testing.T) {
	r := newRig(t, guard.Config{StaleAfter: 10 * time.Second, Fallback: guard.Introspect}, true)
	live := r.signup("intro@example.com")
	dead := r.login("intro@example.com")
	r.latch.EndStreams()
	waitFor(t, "guard sees the feed down", func() bool { return !r.guard.Status().Connected })
	r.env.Clock.Advance(11 * time.Second)
	r.logout(dead) // guard cannot hear of this one
	if got := r.call("Bearer " + live.AccessToken); got.status != 200 {
		t.Fatalf("live token through introspection = %+v", got)
	}
	if got := r.call("Bearer " + dead.AccessToken); got.status != 401 || got.code != "invalid_token" {
		t.Fatalf("revoked token through introspection = %+v", got)
	}
	// latch down as well: nothing is let through.
	r.srv.CloseClientConnections()
	r.srv.Close()
	if got := r.call("Bearer " + live.AccessToken); got.status != 503 {
		t.Fatalf("latch unreachable = %+v, want 503", got)
	}
}

// Guard reconnects with Last-Event-ID and hears of what happened meanwhile.
func TestGuardResumesAfterReconnect(t *testing.T) {
	r := newRig(t, guard.Config{}, true)
	g := r.signup("resume@example.com")
	before := r.guard.Status().LastEventID
	r.srv.CloseClientConnections() // drop the stream; latch stays up
	r.logout(g)
	waitFor(t, "the revocation arrives after reconnecting", func() bool { return r.call("Bearer "+g.AccessToken).status == 401 })
	if after := r.guard.Status().LastEventID; after == before || after != "1" {
		t.Errorf("LastEventID %q → %q, want 1", before, after)
	}
}
