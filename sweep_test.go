package latch_test

import (
	"errors"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

// Sessions stay listed for 30 days after they end, then the sweeper deletes
// them; live sessions are never swept.
func TestSweepAfterRetention(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "sweep@example.com")
	ended := login(t, env, "sweep@example.com", phone)
	if err := env.Service.Logout(t.Context(), mustAuth(t, env, ended.AccessToken), latch.ScopeCurrent, phone); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(29 * 24 * time.Hour)
	live := login(t, env, "sweep@example.com", laptop)
	if res, err := env.Service.Sweep(t.Context(), latch.DefaultRetention()); err != nil || res.Sessions != 0 {
		t.Fatalf("sweep inside the retention = %+v, %v; want nothing deleted", res, err)
	}
	env.Clock.Advance(2 * 24 * time.Hour) // the logout is now 31 days old
	res, err := env.Service.Sweep(t.Context(), latch.DefaultRetention())
	if err != nil || res.Sessions != 1 {
		t.Fatalf("sweep = %+v, %v; want the ended session deleted", res, err)
	}
	if _, err := env.Store.Session(t.Context(), ended.Session.ID); !errors.Is(err, latch.ErrNotFound) {
		t.Fatalf("ended session still stored: %v", err)
	}
	if s, err := env.Store.Session(t.Context(), live.Session.ID); err != nil || s.Revoked() {
		t.Fatalf("live session swept: %v", err)
	}
	now := login(t, env, "sweep@example.com", laptop)
	views, err := env.Service.Sessions(t.Context(), mustAuth(t, env, now.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if v.ID == ended.Session.ID {
			t.Fatal("swept session still listed")
		}
	}
}
