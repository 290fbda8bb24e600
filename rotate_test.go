package latch_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

func TestRefreshSequentialRotation(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "seq@example.com")
	seen := map[string]bool{g.RefreshToken: true}
	for i := range 5 {
		env.Clock.Advance(time.Minute)
		next := refresh(t, env, g.RefreshToken)
		if seen[next.RefreshToken] {
			t.Fatalf("rotation %d repeated a refresh token", i)
		}
		if next.Session.ID != g.Session.ID {
			t.Fatalf("rotation changed the session: %s -> %s", g.Session.ID, next.Session.ID)
		}
		if !strings.HasPrefix(next.RefreshToken, "latch_rt_") {
			t.Fatalf("refresh token lacks its prefix: %.12s…", next.RefreshToken)
		}
		seen[next.RefreshToken] = true
		mustAuth(t, env, next.AccessToken)
		g = next
	}
	s, _ := env.Store.Session(t.Context(), g.Session.ID)
	if s.Generation != 5 {
		t.Fatalf("generation = %d, want 5", s.Generation)
	}
}

// An access token minted before the latest refresh stops working once that
// refresh's grace window has passed; within it, several tabs keep working.
func TestOldAccessTokenDiesAfterGrace(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g0 := signup(t, env, "old@example.com")
	g1 := refresh(t, env, g0.RefreshToken)
	env.Clock.Advance(5 * time.Second)
	if got := authCode(t, env, g0.AccessToken); got != "" {
		t.Fatalf("previous access token inside the grace window = %q, want ok", got)
	}
	env.Clock.Advance(6 * time.Second)
	if got := authCode(t, env, g0.AccessToken); got != latch.CodeTokenSuperseded {
		t.Fatalf("previous access token after the grace window = %q, want token_superseded", got)
	}
	mustAuth(t, env, g1.AccessToken)
	g2 := refresh(t, env, g1.RefreshToken)
	// Two generations back: dead at once, whatever the window.
	if got := authCode(t, env, g0.AccessToken); got != latch.CodeTokenSuperseded {
		t.Fatalf("two generations back = %q, want token_superseded", got)
	}
	mustAuth(t, env, g2.AccessToken)
}

func TestRefreshRejectsTamperedTokens(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "tamper@example.com")
	other := latchtest.New(t, latchtest.Options{Secret: mustSecret(t, "ef")})
	og := signup(t, other, "tamper@example.com")

	rt := g.RefreshToken
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"prefix only", "latch_rt_"},
		{"access token", g.AccessToken},
		{"last char flipped", flipLast(rt)},
		{"first body char flipped", rt[:9] + flip(rt[9]) + rt[10:]},
		{"padded", rt + "="},
		{"whitespace", rt[:20] + "\n" + rt[21:]},
		{"std alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(rt)},
		{"truncated", rt[:len(rt)-1]},
		{"other installation", og.RefreshToken},
		{"wrong prefix", "latch_xx_" + rt[9:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token == rt {
				t.Skip("replacement did not change the token")
			}
			_, err := env.Service.Refresh(t.Context(), tt.token, laptop)
			if codeOf(err) != latch.CodeInvalidRefreshToken {
				t.Fatalf("Refresh = %v, want invalid_refresh_token", err)
			}
		})
	}
	// None of that counted as theft: the real token still works.
	refresh(t, env, rt)
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// The stolen-refresh-token story: the thief refreshes first; the victim's
// next refresh (after the grace window) is detected as reuse, the session
// is revoked, the thief's new tokens die, and the session list says why.
func TestStolenRefreshToken(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	victim := signup(t, env, "victim@example.com")
	other := login(t, env, "victim@example.com", phone)

	stolen := victim.RefreshToken
	thief, err := env.Service.Refresh(t.Context(), stolen, latch.Device{IP: "203.0.113.66", UserAgent: "curl/8"})
	if err != nil {
		t.Fatalf("thief refresh = %v", err)
	}
	mustAuth(t, env, thief.AccessToken)

	env.Clock.Advance(14 * time.Minute)
	_, err = env.Service.Refresh(t.Context(), victim.RefreshToken, laptop)
	if codeOf(err) != latch.CodeRefreshTokenReused {
		t.Fatalf("victim refresh = %v, want refresh_token_reused", err)
	}
	if got := authCode(t, env, thief.AccessToken); got != latch.CodeSessionRevoked {
		t.Errorf("thief access token = %q, want session_revoked", got)
	}
	if _, err := env.Service.Refresh(t.Context(), thief.RefreshToken, laptop); codeOf(err) != latch.CodeSessionRevoked {
		t.Errorf("thief refresh token = %v, want session_revoked", err)
	}
	// The victim's other device is untouched and sees why the session ended.
	p := mustAuth(t, env, other.AccessToken)
	views, err := env.Service.Sessions(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, v := range views {
		if v.ID == victim.Session.ID {
			found = true
			if v.EndReason != latch.ReasonRefreshReuse || v.EndedAt.IsZero() {
				t.Errorf("stolen session listed as %q at %v, want refresh_token_reuse", v.EndReason, v.EndedAt)
			}
		}
	}
	if !found {
		t.Fatal("revoked session missing from the session list")
	}
	evs, _ := env.Service.Audit(t.Context(), "victim@example.com", 0, 100)
	if !hasAudit(evs, latch.AuditRefreshReuse, victim.Session.ID) {
		t.Error("no refresh_reuse_detected audit event")
	}
}

func hasAudit(evs []*latch.AuditEvent, typ latch.AuditType, sid latch.SessionID) bool {
	for _, e := range evs {
		if e.Type == typ && (sid == "" || e.SessionID == sid) {
			return true
		}
	}
	return false
}

// Concurrent refreshes of one token never fork the lineage (C05 shape, run
// here on the service directly).
func TestConcurrentRefreshOneLineage(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "conc@example.com")
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		tokens  = map[string]int{}
		errCode = map[string]int{}
	)
	for range n {
		wg.Go(func() {
			ng, err := env.Service.Refresh(t.Context(), g.RefreshToken, laptop)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errCode[codeOf(err)]++
				return
			}
			tokens[ng.RefreshToken]++
		})
	}
	wg.Wait()
	if len(tokens) != 1 || len(errCode) != 0 {
		t.Fatalf("successors = %d distinct, errors = %v; want one successor for all %d", len(tokens), errCode, n)
	}
}
