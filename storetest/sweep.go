package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchauth/latch"
)

// testSweep: ended sessions (revoked, expired or idle) older than the
// cutoffs go, live and recent ones stay; old revocation events go except the
// newest; audit events go only when asked.
func testSweep(t *testing.T, st latch.Store) {
	sw, ok := st.(latch.Sweeper)
	if !ok {
		t.Skip("store does not implement latch.Sweeper")
	}
	uid := newUser(t, st, "sweep@example.com").ID
	day := 24 * time.Hour
	live := newSession(t, st, uid, at(0))              // expires t0+30d
	oldRevoked := newSession(t, st, uid, at(0))        // revoked at t0+1s
	recentRevoked := newSession(t, st, uid, at(0))     // revoked at t0+40d-1h
	expired := newSession(t, st, uid, t0.Add(-40*day)) // expired t0-10d
	idle := newSession(t, st, uid, t0.Add(-20*day))    // last seen t0-20d
	must(t, "RevokeSession", ignore(st.RevokeSession(t.Context(), oldRevoked.ID, latch.ReasonLogout, at(1000))))
	must(t, "RevokeSession", ignore(st.RevokeSession(t.Context(), recentRevoked.ID, latch.ReasonLogout, t0.Add(40*day-time.Hour))))
	must(t, "AppendAudit", st.AppendAudit(t.Context(), &latch.AuditEvent{At: at(5), Type: latch.AuditLogin, Outcome: "ok"}))
	must(t, "AppendAudit", st.AppendAudit(t.Context(), &latch.AuditEvent{At: t0.Add(40 * day), Type: latch.AuditLogin, Outcome: "ok"}))
	headBefore, err := st.RevocationHead(t.Context())
	must(t, "RevocationHead", err)

	// At t0+40d, keeping 30 days: cut-off t0+10d; idle timeout 7d.
	res, err := sw.Sweep(t.Context(), latch.SweepCutoffs{
		SessionsEndedBefore: t0.Add(10 * day),
		IdleBefore:          t0.Add(3 * day),
		RevocationsBefore:   t0.Add(10 * day),
	})
	must(t, "Sweep", err)
	// live expires at t0+30d, after the cut-off, but was last seen at t0,
	// before the idle cut-off: it ended by idleness and goes too.
	wantGone := []latch.SessionID{oldRevoked.ID, expired.ID, idle.ID, live.ID}
	wantKept := []latch.SessionID{recentRevoked.ID}
	if res.Sessions != int64(len(wantGone)) {
		t.Errorf("Sweep deleted %d sessions, want %d", res.Sessions, len(wantGone))
	}
	for _, id := range wantGone {
		if _, err := st.Session(t.Context(), id); !errors.Is(err, latch.ErrNotFound) {
			t.Errorf("session %s survived the sweep (%v)", id, err)
		}
	}
	for _, id := range wantKept {
		session(t, st, id)
	}
	if res.AuditEvents != 0 {
		t.Errorf("audit events deleted without an audit cut-off: %d", res.AuditEvents)
	}
	// The old revocation event went, but the newest stays: the head holds.
	if res.Revocations != 1 {
		t.Errorf("Sweep deleted %d revocation events, want 1", res.Revocations)
	}
	if head, err := st.RevocationHead(t.Context()); err != nil || head != headBefore {
		t.Errorf("RevocationHead after sweep = %d, %v; want %d", head, err, headBefore)
	}

	res, err = sw.Sweep(t.Context(), latch.SweepCutoffs{SessionsEndedBefore: t0, RevocationsBefore: t0, AuditBefore: t0.Add(day)})
	must(t, "Sweep", err)
	evs, err := st.AuditEvents(t.Context(), latch.AuditQuery{})
	must(t, "AuditEvents", err)
	if res.AuditEvents != 1 || len(evs) != 1 {
		t.Errorf("audit sweep deleted %d, %d left; want 1 deleted, 1 left", res.AuditEvents, len(evs))
	}
}

func ignore[T any](_ T, err error) error { return err }
